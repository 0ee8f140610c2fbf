package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "backup", description = {
    "Take a physical backup of a running cluster into a repository.",
    "Runs on the database host: it reads --pgdata itself between pg_backup_start and",
    "pg_backup_stop on one connection, compresses and checksums every file, verifies page",
    "checksums, and writes the manifest last. Without a WAL archive it stores the WAL from start",
    "to stop inside the backup, so that it restores on its own; with one, it completes only once",
    "that WAL is archived. The repository is created on the first backup.",
    "Types: full copies every file; incr stores only the pages changed since the previous",
    "backup of any type; diff only those changed since the last full. A page counts as changed",
    "when its bytes differ from the reference backup's (every backup keeps a hash of each block",
    "it read); incr and diff need data checksums on, so that a page damaged on disk is refused",
    "rather than stored as a change. With no full to build on, an incr",
    "or diff becomes a full and says so. reverse writes a new full (unchanged files refer to the",
    "objects already stored) and then turns the previous full into a reverse delta: the old",
    "versions of the pages that changed, so the newest backup is always a full and older points",
    "are reached by stepping back (restore --steps-back N).",
    "Without --host/PGHOST and --port/PGPORT it connects to the server running on the data",
    "directory (-D/--pgdata, else PGDATA) as its postmaster.pid says: its Unix socket and port.",
    "",
    "With --logical it backs up one database (--dbname) through pg_dump instead, in one",
    "repeatable-read snapshot; --pgdata is not needed. --type full stores pg_dump's archive",
    "(pg_dump writes it uncompressed, pgstrata compresses it) and, per table with a primary key, a",
    "key index (key and row hash), and an index of the large objects. --type diff stores only the",
    "rows inserted, updated or deleted since the last logical full of that database, pg_dump's",
    "archive without its data section (schema, large objects' definitions, materialized views'",
    "refreshes) so that schema changes travel, the sequences, and the large objects new or changed",
    "since the full; tables without a primary key (or whose columns or key changed) are stored",
    "whole, and it says so. Both keep the database's settings and comment. A role that row-level",
    "security hides rows from is refused. pg_dump is found via --pg-bin, PGSTRATA_PG_BIN, PATH, then",
    "the usual installation directories, and must be at least the server's major version."})
final class BackupCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the running cluster (physical backups; default: PGDATA).")
    Path pgdata;

    @Option(names = "--logical", description = "A logical backup of one database through pg_dump (--type full or diff).")
    boolean logical;

    @Option(names = "--pg-bin", paramLabel = "DIR", description = "With --logical: the directory holding pg_dump.")
    Path pgBin;

    @Option(names = "--type", defaultValue = "full", paramLabel = "TYPE", description = "full (default), incr, diff or reverse.")
    String type;

    @Option(names = "--compress", defaultValue = "zstd", paramLabel = "ALGO", description = "zstd (default), lz4 or none.")
    String compress;

    @Option(names = "--compress-level", paramLabel = "LEVEL",
            description = "With zstd: the level of every object this backup writes, -7 to -1 (fastest, largest) or 1 to 19 (slowest, "
                    + "smallest). Default: 1 for files stored whole, for bundles of small files and for the changed pages of large "
                    + "files; 3 for the changed pages of smaller files and for WAL. 3 stores a full about 5%% smaller for a third "
                    + "more CPU. Restore needs no setting; the WAL archive keeps its own level.")
    Integer compressLevel;

    @Option(names = "--jobs", defaultValue = "2", paramLabel = "N", converter = Jobs.class,
            description = "Files copied in parallel (1 to 256; default: ${DEFAULT-VALUE}). With --logical: a full above 1 uses pg_dump's directory format with N jobs (default 1); a diff reads big tables over N connections sharing its snapshot (default 1: on 2 cores a second one costs more than it saves).")
    int jobs;

    @Option(names = "--change-source", defaultValue = "auto", paramLabel = "HOW",
            description = "How an incr or diff finds changed blocks: auto (default: the server's WAL summaries on PostgreSQL 17+ "
                    + "with summarize_wal on, when they cover the range; otherwise every block is read and compared), scan (always read "
                    + "every block), or wal-summary (fail unless the summaries can be used).")
    String changeSource;

    @Option(names = "--checkpoint", defaultValue = "fast", paramLabel = "MODE",
            description = "fast (default): the backup starts with an immediate checkpoint, which writes every dirty page at "
                    + "once; spread: it waits for a checkpoint at the server's own pace (checkpoint_completion_target of "
                    + "checkpoint_timeout, minutes by default), sparing a busy server the burst of writes, as pg_basebackup's "
                    + "default does. Physical backups only.")
    String checkpoint;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--archive-timeout", defaultValue = "60", paramLabel = "SECONDS", converter = WaitSeconds.class,
            description = "With a WAL archive: how long to wait for the next of the backup's WAL segments to reach the archive; "
                    + "each segment that arrives starts the wait again (default: ${DEFAULT-VALUE}).")
    int archiveTimeout;

    @Mixin
    ConnectionOptions conn;

    @Override
    int execute() {
        var env = System.getenv();
        if (logical) {
            return logical(env);
        }
        Path pgdata = DataDirectory.orEnv(this.pgdata, env);
        if (pgdata == null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "a physical backup needs a data directory: give -D/--pgdata DIR or set PGDATA",
                    "pass the data directory of the running cluster, or add --logical for a pg_dump backup of one database");
        }
        if (!checkpoint.equals("fast") && !checkpoint.equals("spread")) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--checkpoint is fast or spread, not '" + checkpoint + "'",
                    "fast checkpoints at once (the default), spread at the server's pace");
        }
        int pause = org.pgstrata.api.TestHooks.pauseAfterFiles(env);
        BackupResult r = facade().backup(new BackupRequest(repo.location(), pgdata, conn.resolve(env, pgdata), BackupType.parse(type),
                Compression.parse(compress), jobs, pause, archiveTimeout, org.pgstrata.api.ChangeSource.parse(changeSource), compressLevel,
                checkpoint.equals("spread")));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("backup %s (%s%s) complete: %d files, %s of data (%s read), %s in the repository, LSN %s .. %s, %.1f s%n",
                    r.id(), r.type(), (r.reference() == null ? "" : " on " + r.reference()) + (r.changeSource() == null ? "" : ", changes by " + r.changeSource()), r.files(), Output.bytes(r.dataBytes()),
                    Output.bytes(r.bytesRead()), Output.bytes(r.repositoryBytes()), r.startLsn(), r.stopLsn(), r.seconds());
        }
        if (!r.configFiles().isEmpty()) {
            // Said even with --quiet and --json: restore puts them back, and whoever copies backups elsewhere should know they are in.
            spec.commandLine().getErr().println("pgstrata: note: stored " + r.configFiles().size()
                    + " configuration file(s) from outside the data directory: " + String.join(", ", r.configFiles()));
        }
        return 0;
    }

    private int logical(java.util.Map<String, String> env) {
        if (spec.commandLine().getParseResult().hasMatchedOption("--compress-level")) {
            // (a stanza's compress-level is for its physical backups, and does not stop a logical one)
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--compress-level applies to physical backups only",
                    "leave it out with --logical (its objects use the default levels)");
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--checkpoint")) {
            // (a stanza's checkpoint is for its physical backups, and does not stop a logical one)
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--checkpoint applies to physical backups only",
                    "leave it out with --logical (pg_dump starts no backup on the server, and asks for no checkpoint)");
        }
        boolean jobsGiven = spec.commandLine().getParseResult().hasMatchedOption("--jobs");
        LogicalBackupResult r = facade().logicalBackup(new LogicalBackupRequest(repo.location(), conn.resolve(env, DataDirectory.orEnv(pgdata, env)), BackupType.parse(type),
                Compression.parse(compress), jobsGiven ? jobs : 1, pgBin));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("logical backup %s (%s%s) of database %s complete: %d tables%s, %s %s, %s in the repository, snapshot at %s, %.1f s%n",
                    r.id(), r.type(), r.reference() == null ? "" : " on " + r.reference(), Output.name(r.database()), r.tables(),
                    r.reference() == null ? "" : " (" + r.deltaTables() + " as changes: " + r.changedRows() + " rows changed, " + r.deletedRows()
                            + " deleted; " + r.wholeTables().size() + " whole: " + r.wholeRows() + " rows"
                            + (r.changedLargeObjects() + r.deletedLargeObjects() == 0 ? "" : "; large objects: " + r.changedLargeObjects()
                                    + " stored, " + r.deletedLargeObjects() + " deleted") + ")",
                    r.reference() == null ? "dump" : "schema-only dump", Output.bytes(r.dumpBytes()), Output.bytes(r.repositoryBytes()),
                    r.snapshotLsn(), r.seconds());
            for (String w : r.wholeTables()) {
                out().println("  stored whole: " + Output.line(w));
            }
        }
        return 0;
    }
}
