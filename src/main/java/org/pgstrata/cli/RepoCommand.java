package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.manifest.RepoInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "repo", description = "Manage repositories.", subcommands = {RepoCommand.Init.class, RepoCommand.RotatePass.class}, mixinStandardHelpOptions = true)
final class RepoCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "init", description = {"Create a repository for the cluster in --pgdata. It records the cluster's system",
        "identifier and major version and refuses backups of any other cluster. The first backup",
        "creates the repository too, so this is optional. Run on a repository that holds backups",
        "but has lost its repo.json, it re-creates it only after checking that every backup and",
        "every archived WAL segment belongs to the cluster (it reads the whole archive); otherwise",
        "it refuses (exit 11). Nothing else re-creates a lost repo.json."})
    static final class Init extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the cluster it serves (default: PGDATA).")
        Path pgdata;

        @Option(names = "--encrypt", description = {"Encrypt everything the repository will hold (AES-256-GCM; object names too),",
            "with a random key wrapped for the passphrase (--cipher-pass-file, PGSTRATA_CIPHER_PASS, or the",
            "stanza's cipher-pass). The stanza's encrypt = true does the same for the first backup. Without the",
            "passphrase nothing in the repository can be read: keep it apart from the backups."})
        boolean encrypt;

        @Override
        int execute() {
            String location = repo.location();
            if (encrypt) {
                org.pgstrata.api.CipherPass.requestEncryption();
            }
            RepoInfo info = facade().repoInit(location, DataDirectory.required(pgdata, System.getenv()), true);
            out().println("repository " + repo.describe() + " serves cluster " + info.systemIdentifier() + " (PostgreSQL " + info.pgMajor() + ")"
                    + (info.encrypted() ? "; encrypted" : ""));
            return 0;
        }
    }

    @Command(name = "rotate-pass", description = {"Give an encrypted repository a new passphrase. The current one (--cipher-pass-file,",
        "PGSTRATA_CIPHER_PASS, or the stanza's cipher-pass) opens the repository's key; the key is wrapped",
        "again for the new one (--new-cipher-pass-file, or PGSTRATA_NEW_CIPHER_PASS) and repo.json replaced.",
        "No other object is rewritten. Afterwards the old passphrase opens nothing: change it in the",
        "stanza, and in the environment of the server's archive_command, at the same time."})
    static final class RotatePass extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Option(names = "--new-cipher-pass-file", paramLabel = "FILE", description = "File whose first line is the new passphrase "
                + "(default: PGSTRATA_NEW_CIPHER_PASS).")
        Path newPassFile;

        @Override
        int execute() {
            String location = repo.location();
            char[] next;
            if (newPassFile != null) {
                org.pgstrata.api.CipherPass.Source current = org.pgstrata.api.CipherPass.current();
                org.pgstrata.api.CipherPass.useFile(newPassFile); // reads and checks it the same way
                next = org.pgstrata.api.CipherPass.current().passphrase();
                org.pgstrata.api.CipherPass.use(current, false);
            } else {
                String env = org.pgstrata.api.CipherPass.fromEnvironment(System.getenv(), "PGSTRATA_NEW_CIPHER_PASS");
                if (env == null || env.isEmpty()) {
                    throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.CIPHER_PASS_MISSING, "no new passphrase given",
                            "pass --new-cipher-pass-file FILE, or set PGSTRATA_NEW_CIPHER_PASS");
                }
                next = env.toCharArray();
            }
            facade().rotatePassphrase(location, next);
            out().println("repository " + repo.describe() + ": passphrase changed; the old one no longer opens it");
            return 0;
        }
    }
}
