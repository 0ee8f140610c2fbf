package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Rebuild a data directory from a backup, optionally recovering to a point in time.",
    "Every object and every file is checked against its checksum. Without a target the copy",
    "recovers to the backup's own consistency point. With a target (time, LSN, xid, restore point",
    "name, or latest) it picks the newest backup before the target, says which and why, and writes",
    "restore_command and the recovery settings so that the server replays archived WAL up to it.",
    "With --start it waits until the target is reached and reports where recovery stopped.",
    "archive_mode is switched off in the copy. The directory must be absent or empty, unless --delta:",
    "then it may be the data directory of the same cluster, stopped; only blocks whose content",
    "differs are written, files the backup lacks are removed, and the bytes written are reported",
    "against what a full restore writes; the cluster keeps archiving (archive_mode stays as it was).",
    "Configuration files that the source read from outside its data directory (a packaged",
    "cluster's /etc/postgresql/MAJOR/NAME) come back beside the data, or into --config-dir; then",
    "data_directory is commented out (or names the target) and hba_file, ident_file and",
    "external_pid_file are pointed at the restored copies in postgresql.auto.conf. A --delta",
    "restore leaves them where they are when they still exist there (--config-dir writes copies).",
    "",
    "With --logical it restores a logical backup (pg_dump) into a running server instead:",
    "--to-db NAME is created (a whole database is restored under a temporary name and renamed",
    "into place at the end; an existing NAME is refused unless --clean, and is replaced only",
    "once the restore has succeeded). A differential is its full's pg_restore plus the rows and",
    "large objects changed, in one transaction. A whole database gets the settings (ALTER DATABASE",
    "... SET) and comment of the one backed up, which pg_restore gives only with --create; a role",
    "with settings there that the server lacks is refused (--no-owner leaves its settings out).",
    "A role that owns objects or holds privileges in the backup and is missing on the server",
    "is refused by name (exit 17): create it, or add --no-owner or --no-privileges.",
    "--table T restores one table (its definition, data, indexes,",
    "constraints other than foreign keys, and owned sequences) into an existing database",
    "(--create makes it). --port, --host and --user name the server."})
final class RestoreCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--to", paramLabel = "DIR", description = "Directory to restore into (absent or empty).")
    Path to;

    @Option(names = "--delta", description = "--to may be the stopped data directory of the same cluster: write only what differs.")
    boolean delta;

    @Option(names = "--logical", description = "Restore a logical backup into a running server (--to-db).")
    boolean logical;

    @Option(names = "--to-db", paramLabel = "NAME", description = "With --logical: the database to restore into.")
    String toDb;

    @Option(names = "--create", description = "With --logical --table: create --to-db if it does not exist.")
    boolean create;

    @Option(names = "--clean", description = "With --logical: replace an existing --to-db (with --table: drop the existing table first).")
    boolean clean;

    @Option(names = "--table", paramLabel = "T", description = "With --logical: restore only this table (name or schema.name).")
    String table;

    @Option(names = "--no-owner", description = "With --logical: do not restore object owners (the restoring user owns everything).")
    boolean noOwner;

    @Option(names = {"--no-privileges", "--no-acl"}, description = "With --logical: do not restore access privileges (GRANT and REVOKE), "
            + "as pg_restore --no-privileges; for a server without the roles they name.")
    boolean noPrivileges;

    @Option(names = {"-h", "--host"}, paramLabel = "HOST", description = "With --logical: server host or socket directory (default: PGHOST, "
            + "else a socket in /var/run/postgresql or /tmp, else localhost).")
    String host;

    @Option(names = {"-U", "--user"}, paramLabel = "USER", description = "With --logical: user name (default: PGUSER, else postgres). "
            + "With --start the restored server is checked as PGUSER (else postgres), with PGPASSWORD or the password file.")
    String user;

    @Option(names = "--backup", paramLabel = "ID", description = "Backup to restore (default: the newest).")
    String backup;

    @Option(names = "--steps-back", paramLabel = "N",
            description = "Restore the backup N steps before the newest (0 = the newest; in a reverse-delta repository, N reverse deltas applied).")
    Integer stepsBack;

    @Option(names = "--config-dir", paramLabel = "DIR", description = "Where the configuration files that the source read from "
            + "outside its data directory go (Debian: /etc/postgresql/MAJOR/NAME), as they were laid out there; absent or without "
            + "those files. Default: into --to, beside the data, so that the server finds postgresql.conf there.")
    Path configDir;

    @Option(names = "--tablespace-map", paramLabel = "OLD=NEW", description = "Restore tablespace OLD (its OID, or its location "
            + "when the backup was taken; '\\=' for an '=' in it) into directory NEW (absolute; absent or empty), linked from "
            + "pg_tblspc as PostgreSQL links its own. Repeat it for each tablespace to move. A tablespace not named is restored "
            + "inside the data directory, as pg_tblspc/OID, which PostgreSQL runs with only allow_in_place_tablespaces = on "
            + "(restore sets it): the source may still use the original location. Not with --delta, which keeps the links "
            + "the data directory has.")
    java.util.List<String> tablespaceMap = new java.util.ArrayList<>();

    @Option(names = "--start", description = "Start the restored server and wait until it accepts read-write connections.")
    boolean start;

    @Option(names = "--start-timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "With --start: give up when the server's start and recovery show no progress (replay position, server log, "
                    + "WAL read) for this long; a slow recovery that moves is never cut short; 0 waits as long as the server lives "
                    + "(default: ${DEFAULT-VALUE}).")
    int startTimeout;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", converter = Port.class,
            description = "Port for the restored server (with --start; default: the source's). With --logical: the server's port (default: PGPORT, else 5432).")
    Integer port;

    @Option(names = "--pg-bin", paramLabel = "DIR",
            description = "Binaries to start the server with (default: PGSTRATA_PG_BIN, else bundled). With --logical: where pg_restore is.")
    Path pgBin;

    @Option(names = "--jobs", paramLabel = "N", converter = Jobs.class,
            description = "Files restored in parallel, a large file by several jobs at once (1 to 256; default: the number of cores).")
    Integer jobs;

    private int jobs() {
        return jobs == null ? Jobs.cores() : jobs;
    }

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Mixin
    RecoveryTargetOptions targets;

    @Option(names = "--target-action", defaultValue = "promote", paramLabel = "ACTION",
            description = "At the target: promote (default: read-write), pause (read-only, inspect), or shutdown.")
    String action;

    private RecoveryTarget recoveryTarget() {
        return targets.recoveryTarget(action);
    }

    @Override
    int execute() {
        if (logical) {
            return logical();
        }
        if (to == null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "a physical restore needs --to DIR",
                    "name the directory to restore into, or add --logical --to-db NAME for a logical backup");
        }
        if (stepsBack != null && backup != null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--steps-back and --backup both choose the backup",
                    "give one of them");
        }
        if (startTimeout < 0) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--start-timeout must be 0 or more seconds, not "
                    + startTimeout, "0 waits as long as the server lives; the default is 300");
        }
        String id = stepsBack == null ? backup : facade().backupStepsBack(repo.location(), stepsBack);
        RestoreResult r = facade().restore(new RestoreRequest(repo.location(), to, id, start, port, pgBin, jobs(), recoveryTarget(),
                java.time.Duration.ofSeconds(startTimeout), delta, configDir, stanzaArguments(), null, tablespaceMap));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("restored backup %s into %s: %d files, %s, files in %.1f s%n", r.backupId(), r.target(), r.files(),
                    Output.bytes(r.bytes()), r.filesSeconds());
            if (r.delta() != null) {
                RestoreResult.Delta d = r.delta();
                out().printf("delta: wrote %s of the %s a full restore writes (%.1f%%): %d files written, %d unchanged, %d removed%n",
                        Output.bytes(d.bytesWritten()), Output.bytes(r.bytes()), r.bytes() == 0 ? 0.0 : 100.0 * d.bytesWritten() / r.bytes(),
                        d.filesWritten(), d.filesUnchanged(), d.filesRemoved());
            }
            if (r.readySeconds() != null) {
                out().printf("recovery stopped at %s%s; the server is %s%s, %.1f s after the restore began%n", r.stoppedAt(),
                        r.stoppedAtTime() == null || r.stoppedAt().contains(r.stoppedAtTime()) ? "" : " (last transaction " + r.stoppedAtTime() + ")",
                        !r.state().equals("shut down") ? r.state() : "shutdown".equals(action) ? "shut down, as --target-action shutdown asked"
                                // PostgreSQL documents that a pause target acts as shutdown under hot_standby = off
                                : "shut down: hot_standby is off in its configuration, under which PostgreSQL shuts down at a pause target",
                        r.port() == null ? "" : " on port " + r.port(), r.readySeconds());
            }
        }
        return 0;
    }

    private int logical() {
        List<String> physicalOnly = new java.util.ArrayList<>();
        if (to != null) {
            physicalOnly.add("--to");
        }
        if (start) {
            physicalOnly.add("--start");
        }
        if (delta) {
            physicalOnly.add("--delta");
        }
        if (targets.given()) {
            physicalOnly.add("--target-*");
        }
        if (!tablespaceMap.isEmpty()) {
            physicalOnly.add("--tablespace-map");
        }
        if (!physicalOnly.isEmpty()) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, String.join(", ", physicalOnly)
                    + " apply to a physical restore, not to --logical", "a logical restore goes into a running server's database: --to-db NAME");
        }
        if (stepsBack != null && backup != null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--steps-back and --backup both choose the backup",
                    "give one of them");
        }
        if (stepsBack != null) {
            backup = facade().logicalStepsBack(repo.location(), stepsBack);
        }
        if (toDb == null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "a logical restore needs --to-db NAME",
                    "name the database to restore into");
        }
        var env = System.getenv();
        var server = org.pgstrata.db.Libpq.resolve(host, port, user, "postgres", null, env);
        var r = facade().logicalRestore(new org.pgstrata.api.LogicalRestoreRequest(repo.location(), backup, server, toDb, create, clean, table,
                jobs(), pgBin, noOwner, noPrivileges));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("restored logical backup %s (%s) into database %s%s: %d table(s)%s, %.1f s%n", r.backupId(), String.join(" + ", r.chain()),
                    Output.name(r.database()), r.table() == null ? "" : ", table " + Output.name(r.table()), r.tables(),
                    r.chain().size() > 1 ? ", " + r.changedRows() + " changed rows and " + r.deletedRows() + " deletes applied" : "", r.seconds());
            for (String w : r.wholeTables()) {
                out().println("  stored whole in the differential: " + Output.line(w));
            }
            for (String w : r.warnings()) {
                out().println("  warning: " + Output.line(w));
            }
        }
        return 0;
    }
}
