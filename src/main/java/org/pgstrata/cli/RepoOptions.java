package org.pgstrata.cli;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.storage.s3.S3Location;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * --repo, with PGSTRATA_REPO as its default, and the S3 options that go with an s3:// repository. Credentials are not among them:
 * the AWS SDK's default chain finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE
 * and ~/.aws/credentials, or an instance role).
 */
final class RepoOptions {
    @Option(names = "--repo", paramLabel = "REPO", description = "Repository: a directory, or s3://BUCKET/PREFIX "
            + "(default: PGSTRATA_REPO). S3 credentials come from the AWS SDK's default chain: AWS_ACCESS_KEY_ID and "
            + "AWS_SECRET_ACCESS_KEY, a profile in the shared credentials file (AWS_PROFILE), or an instance role.")
    String repo;

    @Mixin
    S3Options s3 = new S3Options();

    @Option(names = "--cipher-pass-file", paramLabel = "FILE", description = "File whose first line is the passphrase of an "
            + "encrypted repository (default: PGSTRATA_CIPHER_PASS, else the stanza's cipher-pass). Never on the command line "
            + "itself, where ps would show it.")
    java.nio.file.Path cipherPassFile;
    /** Whether --cipher-pass-file has been read: once, since it may be a pipe ({@code <(pass show db)}, /dev/stdin). */
    private boolean passRead;

    /** The repository location, S3 options folded in; what the engine opens. Also takes --cipher-pass-file's passphrase for this command. */
    String location() {
        if (cipherPassFile != null && !passRead) {
            org.pgstrata.api.CipherPass.useFile(cipherPassFile);
            passRead = true;
        }
        String r = repo != null ? repo : System.getenv("PGSTRATA_REPO");
        if (r == null || r.isBlank()) {
            throw new PgstrataException(ErrorCode.USAGE, "no repository given", "pass --repo DIR or --repo s3://BUCKET/PREFIX, or set PGSTRATA_REPO");
        }
        return s3.location(r);
    }

    /** The repository as messages name it (no options), on one line however its path reads (Output.line). */
    String describe() {
        return Output.line(S3Location.describe(location()));
    }
}
