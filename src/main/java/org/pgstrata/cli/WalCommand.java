package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.wal.WalPush;
import org.pgstrata.wal.WalSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "wal", description = "Archive WAL into a repository and fetch it back for recovery.",
        subcommands = {WalCommand.Push.class, WalCommand.Get.class, WalCommand.Setup.class, WalReceiveCommand.class},
        mixinStandardHelpOptions = true)
final class WalCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "push", description = {
        "Archive one WAL file: archive_command = 'pgstrata wal push --repo DIR %%p'.",
        "Compresses and checksums the file and makes it durable before exiting 0. The same content",
        "again succeeds; different content under an archived name is refused (exit 23) and the",
        "archived copy kept. Handles segments, timeline history, .partial and backup history files.",
        "By default also pushes every other file archive_status marks ready, oldest first, so one",
        "process start serves many segments; PostgreSQL's later calls for them return at once.",
        "Runs without loading the command-line framework when called as archive_command."})
    static final class Push extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Option(names = "--no-batch", description = "Push only the file named, not the other ready ones.")
        boolean noBatch;

        @Option(names = "--compress", defaultValue = "zstd", paramLabel = "ALGO", description = "zstd (default), lz4 or none.")
        String compress;

        @Parameters(index = "0", paramLabel = "PATH", description = "The file to archive (%%p).")
        Path path;

        @Override
        int execute() {
            WalPush.Result r = facade().walPush(repo.location(), path, !noBatch, Compression.parse(compress));
            for (String w : r.warnings()) {
                warn(w);
            }
            out().println(r.name() + ": " + (switch (r.outcome()) {
                case STORED -> "archived";
                case STORED_AGAIN -> "archived again over a damaged copy";
                case ALREADY_ARCHIVED -> "already archived";
            })
                    + (r.alsoPushed().isEmpty() ? "" : "; also archived " + String.join(", ", r.alsoPushed())));
            return 0;
        }
    }

    @Command(name = "get", description = {
        "Fetch one archived WAL file: restore_command = 'pgstrata wal get --repo DIR %%f %%p'.",
        "Exits 0 with the file in place (checked against its checksum first), 1 when the archive",
        "does not have it (recovery's end of archive), 126 when the archived copy is damaged and 128",
        "on any other failure: above 125, so that PostgreSQL stops recovery instead of ending it early.",
        "Fetching a segment into a data directory's pg_wal, it refuses (128) one that creates a",
        "tablespace in a directory holding another cluster's tablespace (PG_* there, and the data",
        "directory's pg_tblspc not linked to it): replayed, it would write into that cluster's files."})
    static final class Get extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file's name (%%f).")
        String name;

        @Parameters(index = "1", paramLabel = "PATH", description = "Where to put it (%%p).")
        Path path;

        @Option(names = "--replay-until", paramLabel = "LSN", description = "Where the recovery that asks stops (a restore to a "
                + "target writes it): after the first record at or after LSN. A tablespace created after that is not replayed, so it is "
                + "not refused.")
        String replayUntil;

        @Option(names = "--replay-before", paramLabel = "LSN", description = "As --replay-until, for a recovery that stops before the "
                + "first record at or after LSN (recovery_target_inclusive off).")
        String replayBefore;

        @Option(names = "--replay-target", paramLabel = "SETTING=VALUE", description = "The recovery target the bound comes from "
                + "(recovery_target_lsn=..., recovery_target_xid=..., recovery_target_name=..., recovery_target=immediate): unless "
                + "postgresql.auto.conf still sets that target and no other, the bound is not trusted (the copy was sent further).")
        String replayTarget;

        @Override
        int execute() {
            if (replayUntil != null && replayBefore != null) {
                throw new PgstrataException(ErrorCode.USAGE, "--replay-until and --replay-before exclude each other", null);
            }
            String at = replayBefore != null ? replayBefore : replayUntil;
            org.pgstrata.postgres.TablespaceCreations.Bound bound = at == null ? null
                    : new org.pgstrata.postgres.TablespaceCreations.Bound(org.pgstrata.postgres.Lsn.parse(at), replayBefore != null);
            return LeanWal.get(repo.location(), name, path, bound, replayTarget);
        }
    }

    @Command(name = "setup", description = {
        "Print the settings that make a cluster archive into a repository; --apply them.",
        "On a running cluster --apply uses ALTER SYSTEM and reloads (archive_mode needs a restart",
        "when it was off); on a stopped one it appends to postgresql.auto.conf. The repository is",
        "created for the cluster if it does not exist. archive_mode = always and wal_level = logical",
        "are kept, an archive_command it replaces is named, and archive_library set is refused",
        "(exit 20): PostgreSQL archives with that or archive_command, never both. A stopped",
        "cluster's configuration is read with postgres -C."})
    static final class Setup extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the cluster (default: PGDATA).")
        Path pgdata;

        @Option(names = "--apply", description = "Write the settings instead of printing them.")
        boolean apply;

        @Mixin
        ConnectionOptions conn;

        @Override
        int execute() {
            if (!apply) {
                out().print(facade().walSettings(repo.location(), stanzaArguments()));
                out().flush();
                return 0;
            }
            var env = System.getenv();
            Path pgdata = DataDirectory.required(this.pgdata, env);
            org.pgstrata.db.LocalCluster.requireDataDirectory(pgdata);
            WalSetup.Applied a = facade().walSetupApply(repo.location(), stanzaArguments(), pgdata, conn.resolve(env, pgdata));
            out().println("archive settings " + a.how() + (a.restartNeeded() ? "; restart the cluster for archive_mode to take effect" : ""));
            return 0;
        }
    }
}
