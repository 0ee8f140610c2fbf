package org.pgstrata.cli;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.storage.s3.S3Location;
import picocli.CommandLine.Option;

/**
 * --repo and the S3 options that go with an s3:// repository. Credentials are not among them:
 * the AWS SDK's default chain finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE
 * and ~/.aws/credentials, or an instance role).
 */
final class RepoOptions {
    @Option(names = "--repo", paramLabel = "REPO", description = "Repository: a directory, or s3://BUCKET/PREFIX "
            + "(default: PGSTRATA_REPO). S3 credentials come from the AWS SDK's default chain: AWS_ACCESS_KEY_ID and "
            + "AWS_SECRET_ACCESS_KEY, a profile in the shared credentials file (AWS_PROFILE), or an instance role.")
    String repo;

    @Option(names = "--s3-endpoint", paramLabel = "URL", description = "S3-compatible server to use instead of AWS "
            + "(MinIO, Ceph RGW, s3proxy): its URL, such as http://127.0.0.1:9000.")
    String endpoint;

    @Option(names = "--s3-region", paramLabel = "REGION", description = "The bucket's region (default: AWS_REGION or the "
            + "profile's; us-east-1 with --s3-endpoint).")
    String region;

    @Option(names = "--s3-path-style", description = "Name the bucket in the URL's path (http://host/BUCKET/KEY), as most "
            + "S3-compatible servers want, instead of in the host name.")
    boolean pathStyle;

    /** The repository location, S3 options folded in; what the engine opens. */
    String location() {
        String r = repo != null ? repo : System.getenv("PGSTRATA_REPO");
        if (r == null || r.isBlank()) {
            throw new PgstrataException(ErrorCode.USAGE, "no repository given", "pass --repo DIR or --repo s3://BUCKET/PREFIX, or set PGSTRATA_REPO");
        }
        try {
            return S3Location.withOptions(r, endpoint, region, pathStyle);
        } catch (IllegalArgumentException e) {
            throw new PgstrataException(ErrorCode.USAGE, e.getMessage(),
                    "an S3 repository is s3://BUCKET/PREFIX, with --s3-endpoint URL, --s3-region and --s3-path-style as needed");
        }
    }

    /** The repository as messages name it (no options). */
    String describe() {
        return S3Location.describe(location());
    }
}
