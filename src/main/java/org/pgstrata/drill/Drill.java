package org.pgstrata.drill;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.Libpq;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.manifest.DrillRecords;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.restore.PhysicalRestore;

/**
 * A restore drill of a physical backup: restored into a scratch directory, started on a socket
 * of its own (never the source's port, no TCP address), recovered, then proven ({@link
 * DrillChecks}): pg_control against the manifest, amcheck on every heap and index, every table
 * read to its last row. The outcome is recorded in the repository ({@link DrillRecords}); the
 * copy is stopped and removed whatever happens, and what a killed drill left is removed by the
 * next one ({@link ScratchArea}).
 *
 * <p>What a drill finds is a failed drill, recorded: a damaged or missing object, missing WAL, a
 * server that does not start or recover, a check that fails. What stops a drill from proving
 * anything (no passphrase, no binaries, a full scratch disk, the lock of the scratch area) is an
 * error, and nothing is recorded.
 */
public final class Drill {
    /** Errors of a restore that say something about the backup: a drill that meets one has failed. */
    private static final Set<ErrorCode> FINDINGS = Set.of(ErrorCode.CORRUPT, ErrorCode.WAL_MISSING, ErrorCode.TARGET_UNREACHABLE,
            ErrorCode.SERVER, ErrorCode.CHAIN_BROKEN, ErrorCode.REFERENCE_MISMATCH);

    /**
     * @param backupId null: the newest backup, or the one the target needs
     * @param scratch  where scratch copies go (null: {@link ScratchArea#defaultParent})
     */
    public record Request(String repo, String backupId, RecoveryTarget target, Path scratch, Path pgBin, int jobs, Duration startStall,
                          List<String> walArguments) {
    }

    private final Clock clock;
    private final Progress progress;
    private final Map<String, String> env;

    public Drill(Clock clock, Progress progress, Map<String, String> env) {
        this.clock = clock;
        this.progress = progress;
        this.env = env;
    }

    public DrillRecord run(Request req) {
        RecoveryTarget target = req.target() == null ? RecoveryTarget.IMMEDIATE : req.target();
        if (!target.action().equals("promote")) {
            throw new PgstrataException(ErrorCode.USAGE, "a drill promotes the restored copy (its checks write amcheck's extension into it), "
                    + "not --target-action " + target.action(), "leave --target-action out");
        }
        Manifest backup;
        String sysid;
        boolean logical = false;
        org.pgstrata.manifest.LogicalManifest logicalBackup = null;
        PgstrataException damaged = null;
        try (Repository repo = Repository.open(req.repo())) {
            sysid = repo.requireInfo().systemIdentifier();
            logical = req.backupId() != null && repo.logicalBackupIds().contains(req.backupId());
            if (logical && target.type() != RecoveryTarget.Type.IMMEDIATE) {
                throw new PgstrataException(ErrorCode.USAGE, "backup " + req.backupId() + " is a logical backup: it has no recovery target",
                        "leave the target options out");
            }
            backup = null;
            try {
                List<org.pgstrata.manifest.LogicalManifest> logicalOnly = req.backupId() == null && target.type() == RecoveryTarget.Type.IMMEDIATE
                        && repo.backupIds().isEmpty() ? repo.logicalBackups() : List.of();
                if (logical) {
                    logicalBackup = repo.logicalManifest(req.backupId());
                } else if (!logicalOnly.isEmpty()) {
                    // No physical backup to choose from: the newest backup is a logical one (oldest first), and that is what
                    // "the newest" means here, as status, which counts logical backups, asks for a drill of it.
                    logical = true;
                    logicalBackup = logicalOnly.get(logicalOnly.size() - 1);
                } else {
                    backup = PhysicalRestore.chosenBackup(repo, target, req.backupId());
                }
            } catch (PgstrataException e) {
                if (e.code() != ErrorCode.CORRUPT || req.backupId() == null) {
                    throw e;
                }
                damaged = e;
            }
        }
        if (damaged != null) {
            // The backup asked for has a manifest that cannot be read: a damaged object, which is what a drill is there
            // to find (as it does when one of its files is damaged), so a failed drill, recorded, not an error.
            Outcome o = new Outcome();
            o.findings.add("manifest: " + damaged.getMessage());
            return o.recorded(req.repo(), req.backupId(), logical ? "logical" : "physical", target.describe(), null);
        }
        if (logical) {
            return runLogical(req, logicalBackup);
        }
        ScratchArea area = scratchArea(req);
        Outcome o = new Outcome();
        List<String> checks = o.checks;
        List<String> findings = o.findings;
        String stoppedAt = null;
        try (ScratchArea.Copy copy = area.newCopy(backup.id(), req.repo())) {
            progress.step("drill of backup " + backup.id() + ": restoring into " + copy.data() + " (recovery to " + target.describe() + ")");
            RestoreResult restored = null;
            try {
                restored = new PhysicalRestore(progress, env).run(new RestoreRequest(req.repo(), copy.data(), backup.id(), true,
                        LocalCluster.freePort(), req.pgBin(), req.jobs(), target, req.startStall(), false, null, req.walArguments(), copy.socketDir()));
                checks.add("restored " + restored.files() + " files and recovered to " + restored.stoppedAt() + "; the server accepts read-write queries");
            } catch (PgstrataException e) {
                o.restoreFailed(e, Set.of());
            }
            if (restored != null) {
                stoppedAt = restored.stoppedAtLsn();
                org.pgstrata.api.TestHooks.pauseAt("drill-checks", progress);
                ConnectionSettings who = ConnectionSettings.resolve(null, restored.port(), null, "postgres", env);
                ConnectionSettings at = Libpq.forLocalServer(copy.data(), who);
                try {
                    o.pgVersion = proveControl(at, backup, sysid, target, stoppedAt, checks, findings);
                    DrillChecks.run(at, progress, checks, findings, o.counts);
                } catch (SQLException e) {
                    if (DISK_FULL.equals(e.getSQLState())) {
                        throw scratchFull(copy.data(), e.getMessage().split("\n")[0]);
                    }
                    findings.add("checks: " + e.getMessage().split("\n")[0]);
                } catch (PgstrataException e) {
                    if (e.code() != ErrorCode.CONNECTION && e.code() != ErrorCode.SERVER) {
                        throw e;
                    }
                    // The copy answered the restore's readiness probe: one that stops answering crashed on what the checks read.
                    findings.add("the restored server stopped answering during the checks: " + e.getMessage());
                }
            }
        }
        return o.recorded(req.repo(), backup.id(), "physical", target.describe(), stoppedAt);
    }

    /**
     * A logical backup's drill: a scratch cluster of the backup's major (initialised, on a socket
     * of its own), the backup (with its full, for a differential) restored into a database of the
     * source's name, then that database proven as a physical copy's are (amcheck, every table read).
     */
    private DrillRecord runLogical(Request req, org.pgstrata.manifest.LogicalManifest m) {
        ScratchArea area = scratchArea(req);
        Outcome o = new Outcome();
        try (ScratchArea.Copy copy = area.newCopy(m.id(), req.repo())) {
            PgBinaries bin = PgBinaries.forMajor(req.pgBin(), m.pgMajor(), env);
            int port = LocalCluster.freePort();
            progress.step("drill of logical backup " + m.id() + " (" + m.type() + " of " + m.database() + "): a scratch PostgreSQL " + bin.version()
                    + " cluster in " + copy.data());
            LocalCluster cluster = LocalCluster.init(copy.data(), bin, new LocalCluster.InitOptions(port, "\n# a restore drill's scratch cluster\n"
                    + org.pgstrata.postgres.ConfValue.line("listen_addresses", "")
                    + org.pgstrata.postgres.ConfValue.line("unix_socket_directories",
                            org.pgstrata.postgres.ConfValue.listElement(copy.socketDir().toString()))));
            cluster.start();
            ConnectionSettings admin = new ConnectionSettings(copy.socketDir().toString(), port, "postgres", "postgres", null);
            // Beside the scratch cluster's own databases (the source's may well be called postgres too)
            String db = "drill_" + m.database();
            while (db.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63) {
                db = db.substring(0, db.length() - 1);
            }
            try {
                var r = new org.pgstrata.logical.LogicalRestore(progress, env).run(new org.pgstrata.api.LogicalRestoreRequest(req.repo(), m.id(),
                        admin, db, true, false, null, req.jobs(), req.pgBin(), true, true)); // the scratch cluster has none of the roles
                o.checks.add("restored " + String.join(" + ", r.chain()) + " (database " + m.database() + ") into database " + db + " (" + r.tables() + " tables"
                        + (m.differential() ? ", " + r.changedRows() + " changed rows, " + r.deletedRows() + " deleted" : "") + ")");
            } catch (PgstrataException e) {
                if (org.pgstrata.storage.fs.FileStorage.noRoom(e.getMessage()) || noRoomLine(cluster) != null) {
                    throw scratchFull(copy.data(), noRoomLine(cluster) != null ? noRoomLine(cluster) : e.getMessage());
                }
                o.restoreFailed(e, Set.of(ErrorCode.DUMP_FAILED));
                db = null;
            }
            if (db != null) {
                try (Connection c = Db.connect(new ConnectionSettings(admin.host(), port, "postgres", db, null), "pgstrata drill")) {
                    o.pgVersion = Db.queryString(c, "SELECT current_setting('server_version')");
                    DrillChecks.checkDatabase(c, db, progress, o.checks, o.findings, o.counts);
                    o.counts.databases++;
                } catch (SQLException e) {
                    if (DISK_FULL.equals(e.getSQLState())) {
                        throw scratchFull(copy.data(), e.getMessage().split("\n")[0]);
                    }
                    o.findings.add("checks: " + e.getMessage().split("\n")[0]);
                }
            }
        }
        return o.recorded(req.repo(), m.id(), "logical", "the dump's snapshot (" + m.type() + " of " + m.database() + ")", m.snapshotLsn());
    }

    /** PostgreSQL's SQLSTATE for "could not extend file ...: No space left on device". */
    private static final String DISK_FULL = "53100";

    /**
     * A scratch disk with no room left says nothing about the backup: an I/O error (exit 22), and no
     * drill recorded (a failed one would tell status and the user not to rely on a sound backup).
     */
    private static PgstrataException scratchFull(Path data, String said) {
        return new PgstrataException(ErrorCode.IO, "the drill's copy in " + data + " ran out of room: " + said + "; no drill was recorded",
                "free space there, or give --scratch-dir a disk with the room a restore of the backup takes, then run the drill again");
    }

    /** The scratch server's log line that gives the system's reason for a lack of room, or null. */
    private static String noRoomLine(LocalCluster cluster) {
        for (String words : org.pgstrata.storage.fs.FileStorage.NO_ROOM) {
            String line = cluster.serverLogLine(words);
            if (line != null) {
                return line;
            }
        }
        return null;
    }

    private ScratchArea scratchArea(Request req) {
        return ScratchArea.open(req.scratch() == null ? ScratchArea.defaultParent() : req.scratch(), progress, env);
    }

    /** What one drill, physical or logical, gathers on its way to its record. */
    private final class Outcome {
        final Instant started = clock.instant();
        final long t0 = System.nanoTime();
        final List<String> checks = new ArrayList<>();
        final List<String> findings = new ArrayList<>();
        final DrillChecks.Counts counts = new DrillChecks.Counts();
        String pgVersion;

        /** A restore's error: a finding when it says something about the backup ({@link #FINDINGS}, or {@code alsoFindings}); thrown otherwise. */
        void restoreFailed(PgstrataException e, Set<ErrorCode> alsoFindings) {
            if (!FINDINGS.contains(e.code()) && !alsoFindings.contains(e.code())) {
                throw e;
            }
            findings.add("restore: " + e.getMessage());
        }

        /** The drill's record, written into the repository ({@link #record}), and returned. */
        DrillRecord recorded(String repo, String backupId, String kind, String target, String stoppedAt) {
            double seconds = Math.round((System.nanoTime() - t0) / 1e6) / 1000.0;
            DrillRecord r = new DrillRecord(DrillRecord.FORMAT_VERSION, backupId, kind, target, started.toString(), seconds,
                    findings.isEmpty() ? DrillRecord.PASSED : DrillRecord.FAILED, checks, findings, pgVersion, stoppedAt, counts.databases,
                    counts.relations, counts.rows, counts.bytes, host());
            record(repo, r);
            return r;
        }
    }

    /**
     * pg_control and the WAL position of the running copy against the manifest: the same system,
     * the same major, read-write, and recovery past the backup's consistency point.
     */
    private static String proveControl(ConnectionSettings at, Manifest m, String sysid, RecoveryTarget target, String stoppedAt,
                                       List<String> checks, List<String> findings) throws SQLException {
        try (Connection c = Db.connect(DrillChecks.anyDatabase(at), "pgstrata drill")) {
            String version = Db.queryString(c, "SELECT current_setting('server_version')");
            String system = Db.queryString(c, "SELECT system_identifier::text FROM pg_control_system()");
            int major = Integer.parseInt(Db.queryString(c, "SELECT current_setting('server_version_num')")) / 10000;
            boolean recovering = "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"));
            if (!"t".equals(Db.queryString(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))) {
                // The server let the role in: not a refused login (33), but a role that lacks what the drill needs
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "the drill's checks connect to the copy as " + at.user()
                        + ", who is not a superuser there: amcheck and reading every table need one; nothing was recorded",
                        "set PGUSER to a superuser of the backed-up cluster (postgres, by default)");
            }
            if (!sysid.equals(system)) {
                findings.add("pg_control: system identifier " + system + ", the repository's is " + sysid);
            }
            if (major != m.pgMajor()) {
                findings.add("pg_control: PostgreSQL " + major + ", the backup is of " + m.pgMajor());
            }
            if (recovering) {
                findings.add("the restored server is still in recovery");
            }
            if (stoppedAt == null) {
                findings.add("the restored server did not say where recovery stopped");
            } else if (Lsn.parse(stoppedAt).isBefore(Lsn.parse(m.stopLsn()))) {
                findings.add("recovery stopped at " + stoppedAt + ", before the backup's consistency point " + m.stopLsn());
            }
            checks.add("pg_control: system " + system + ", PostgreSQL " + version + ", recovery stopped at " + stoppedAt
                    + " (the backup is consistent from " + m.stopLsn() + ")" + (target.type() == RecoveryTarget.Type.IMMEDIATE ? "" : " for " + target.describe()));
            return version;
        }
    }

    /**
     * Writes the record, unless its backup went meanwhile: then a record would prove nothing that
     * exists, and the drill could not run to an outcome worth recording, so it is an error (not
     * found) rather than a pass or failure that the caller would report as recorded.
     */
    private void record(String location, DrillRecord r) {
        try (Repository repo = Repository.open(location)) {
            if (!repo.backupIds().contains(r.backupId()) && !repo.logicalBackupIds().contains(r.backupId())) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "backup " + r.backupId() + " was removed (by delete or expire) while the drill ran:"
                        + " its result (" + r.result() + ") is not recorded", "drill a backup that is kept ('pgstrata list --repo "
                        + org.pgstrata.storage.s3.S3Location.describe(location) + "')");
            }
            DrillRecords.write(repo.storage(), r);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot record the drill of backup " + r.backupId() + " in " + location + ": " + e.getMessage(),
                    "check the repository's space and permissions; the drill itself " + (r.passed() ? "passed" : "failed"), e);
        }
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static void privateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }
}
