package org.pgstrata.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.StrategyRow;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.LogicalRestoreResult;
import org.pgstrata.backup.PhysicalBackup;
import org.pgstrata.db.PgClient;
import org.pgstrata.logical.LogicalBackup;
import org.pgstrata.logical.LogicalRestore;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.restore.PhysicalRestore;
import org.pgstrata.wal.WalSetup;

/**
 * The main job: on a throwaway cluster, load the books workload, then for each strategy back up,
 * change the data, restore, and prove the restore equals the content at the backup point. Every
 * server and directory it makes is removed at the end, also when interrupted.
 */
public final class Compare {
    public record Options(long rows, int batchSize, Integer pgVersion, Path pgBin, Path workDir, boolean keep) {
    }

    private final Clock clock;
    private final Progress progress;
    private final Map<String, String> env;

    public Compare(Clock clock, Progress progress, Map<String, String> env) {
        this.clock = clock;
        this.progress = progress;
        this.env = env;
    }

    public CompareResult run(Options opt) {
        Integer version = opt.pgVersion();
        if (version == null && opt.pgBin() == null && env.get("PGSTRATA_PG_BIN") == null) {
            version = majorForPgDump();
        }
        PgBinaries bin = PgBinaries.resolve(opt.pgBin(), version, env);
        Path work;
        try {
            work = opt.workDir() != null ? Files.createDirectories(opt.workDir()) : Files.createTempDirectory("pgstrata-compare-");
        } catch (IOException e) {
            throw new PgstrataException(org.pgstrata.api.ErrorCode.IO, "cannot create a work directory: " + e.getMessage(), "set TMPDIR or --work-dir");
        }
        List<LocalCluster> started = new ArrayList<>();
        Thread cleanup = new Thread(() -> cleanUp(started, work, opt.keep()), "pgstrata-compare-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            // A source cluster with the books workload
            int port = LocalCluster.freePort();
            progress.step("initialising a PostgreSQL " + bin.version() + " cluster in " + work.resolve("source") + " on port " + port);
            // The source archives into the point-in-time strategy's repository from the start.
            Path pitrRepo = work.resolve("repo-pitr");
            LocalCluster source = LocalCluster.init(work.resolve("source"), bin,
                    new LocalCluster.InitOptions(port, "\n" + WalSetup.confLines(pitrRepo.toString())));
            started.add(source);
            try (Repository r = Repository.open(pitrRepo.toString())) {
                r.initialize(ControlFile.read(source.pgdata()).systemIdentifierText(), bin.major(), clock);
            }
            source.start();
            ConnectionSettings conn = new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
            Books.PopulateResult pop;
            long dbBytes;
            try (Connection c = Db.connect(conn)) {
                Books.init(c);
                progress.step("populating " + opt.rows() + " books in batches of " + opt.batchSize());
                pop = Books.populate(c, opt.rows(), opt.batchSize(), 1, progress);
                Db.execute(c, "VACUUM ANALYZE books");
                dbBytes = Long.parseLong(Db.queryString(c, "SELECT pg_database_size(current_database())"));
            }

            List<StrategyRow> rows = new ArrayList<>();
            rows.add(fullPhysical(work, source, conn, bin, started));
            rows.add(chain("incremental chain", BackupType.INCR, work, source, conn, bin, started));
            rows.add(chain("differential", BackupType.DIFF, work, source, conn, bin, started));
            rows.add(chain("reverse delta", BackupType.REVERSE, work, source, conn, bin, started));
            rows.add(pointInTime(work, pitrRepo, source, conn, bin, started));
            rows.add(logicalFull(work, conn));
            rows.add(logicalDifferential(work, conn));
            return new CompareResult(bin.major(), pop.rows(), opt.batchSize(), pop.seconds(), dbBytes, rows);
        } catch (SQLException e) {
            throw Db.sqlFailed("the compare workload", e);
        } catch (IOException e) {
            throw new PgstrataException(org.pgstrata.api.ErrorCode.IO, "compare failed: " + e.getMessage(), null, e);
        } finally {
            cleanUp(started, work, opt.keep());
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs (and finds nothing left to do)
            }
        }
    }

    /** Full physical: one backup, a change, a restore of the backup point, proven by content and amcheck. */
    private StrategyRow fullPhysical(Path work, LocalCluster source, ConnectionSettings conn, PgBinaries bin,
                                     List<LocalCluster> started) throws SQLException, IOException {
        String name = "full (physical)";
        progress.step("strategy " + name);
        ContentChecksum.Result atBackup;
        try (Connection c = Db.connect(conn)) {
            atBackup = ContentChecksum.compute(c);
        }
        String repo = work.resolve("repo-full").toString();
        BackupResult b = new PhysicalBackup(clock, progress).run(new BackupRequest(repo, source.pgdata(), conn, BackupType.FULL,
                Compression.ZSTD, 2, 0));
        try (Connection c = Db.connect(conn)) {
            Books.mutate(c, 1000, 1000, 1000, 42);
        }
        int restorePort = LocalCluster.freePort();
        Path target = work.resolve("restore-full");
        RestoreResult r;
        try {
            r = new PhysicalRestore(progress, env).run(new RestoreRequest(repo, target, b.id(), true, restorePort, bin.binDir(), 2));
        } finally {
            started.add(new LocalCluster(target, bin));
        }
        String reason = prove(conn.withPort(restorePort), atBackup);
        new LocalCluster(target, bin).stop();
        return new StrategyRow(name, b.seconds(), b.repositoryBytes(), r.readySeconds(), 1, reason == null, reason);
    }

    /**
     * A full, then three changes each followed by an incremental, a differential or a
     * reverse-delta backup, then every one of the four points restored and proven (newest
     * first: for reverse deltas, the latest and then each step back). Backup time is the mean of
     * the three backups after the full; repository bytes are what the repository holds.
     */
    private StrategyRow chain(String name, BackupType type, Path work, LocalCluster source, ConnectionSettings conn, PgBinaries bin,
                              List<LocalCluster> started) throws SQLException, IOException {
        progress.step("strategy " + name);
        String repo = work.resolve("repo-" + type.label()).toString();
        List<String> ids = new ArrayList<>();
        List<ContentChecksum.Result> expected = new ArrayList<>();
        double deltaSeconds = 0;
        for (int i = 0; i <= 3; i++) {
            try (Connection c = Db.connect(conn)) {
                if (i > 0) {
                    Books.mutate(c, 500, 500, 500, 300 + 10L * i + type.ordinal());
                }
                expected.add(ContentChecksum.compute(c));
            }
            BackupResult b = new PhysicalBackup(clock, progress).run(new BackupRequest(repo, source.pgdata(), conn,
                    i == 0 ? BackupType.FULL : type, Compression.ZSTD, 2, 0));
            ids.add(b.id());
            if (i > 0) {
                deltaSeconds += b.seconds();
            }
        }
        double restoreSeconds = 0;
        String reason = null;
        for (int i = ids.size() - 1; i >= 0; i--) {
            int port = LocalCluster.freePort();
            Path target = work.resolve("restore-" + type.label() + "-" + i);
            RestoreResult r;
            try {
                r = new PhysicalRestore(progress, env).run(new RestoreRequest(repo, target, ids.get(i), true, port, bin.binDir(), 2));
            } finally {
                started.add(new LocalCluster(target, bin));
            }
            restoreSeconds += r.readySeconds();
            String why = prove(conn.withPort(port), expected.get(i));
            if (why != null && reason == null) {
                reason = "backup " + ids.get(i) + ": " + why;
            }
            new LocalCluster(target, bin).stop();
            deleteTree(target);
        }
        return new StrategyRow(name, deltaSeconds / 3, directoryBytes(Path.of(repo)), restoreSeconds / ids.size(), ids.size(), reason == null, reason);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Base backup + WAL: one backup, then three changes each followed by a named restore point,
     * then every point restored from the backup and the archive and proven.
     */
    private StrategyRow pointInTime(Path work, Path repo, LocalCluster source, ConnectionSettings conn, PgBinaries bin,
                                    List<LocalCluster> started) throws SQLException, IOException {
        String name = "base backup + WAL (point in time)";
        progress.step("strategy " + name);
        BackupResult b = new PhysicalBackup(clock, progress).run(new BackupRequest(repo.toString(), source.pgdata(), conn, BackupType.FULL,
                Compression.ZSTD, 2, 0, 120));
        List<String> points = new ArrayList<>();
        List<ContentChecksum.Result> expected = new ArrayList<>();
        try (Connection c = Db.connect(conn)) {
            for (int i = 1; i <= 3; i++) {
                Books.mutate(c, 500, 500, 500, 100 + i);
                expected.add(ContentChecksum.compute(c));
                String point = "compare-point-" + i;
                try (var ps = c.prepareStatement("SELECT pg_create_restore_point(?)")) {
                    ps.setString(1, point);
                    ps.execute();
                }
                points.add(point);
            }
            Books.mutate(c, 500, 500, 500, 200); // a change after the last point, which no restore may show
            Db.execute(c, "SELECT pg_switch_wal()");
            waitUntilArchived(c);
        }
        double restoreSeconds = 0;
        String reason = null;
        for (int i = 0; i < points.size(); i++) {
            int port = LocalCluster.freePort();
            Path target = work.resolve("restore-pitr-" + (i + 1));
            RestoreResult r;
            try {
                r = new PhysicalRestore(progress, env).run(new RestoreRequest(repo.toString(), target, null, true, port, bin.binDir(), 2,
                        new RecoveryTarget(RecoveryTarget.Type.NAME, points.get(i), true, "latest", "promote")));
            } finally {
                started.add(new LocalCluster(target, bin));
            }
            restoreSeconds += r.readySeconds();
            String why = prove(conn.withPort(port), expected.get(i));
            if (why != null && reason == null) {
                reason = "restore point " + points.get(i) + ": " + why;
            }
            new LocalCluster(target, bin).stop();
        }
        return new StrategyRow(name, b.seconds(), directoryBytes(repo), restoreSeconds / points.size(), points.size(), reason == null, reason);
    }

    /**
     * The newest bundled major that the pg_dump found here can dump (pg_dump reads servers up to
     * its own major), so that the logical rows run too; the default when there is none.
     */
    private Integer majorForPgDump() {
        try {
            int dumpMajor = PgClient.find("pg_dump", 0, "any server", null, env).major();
            return PgBinaries.BUNDLED_MAJORS.stream().filter(m -> m <= dumpMajor).max(Integer::compare).orElse(null);
        } catch (PgstrataException e) {
            return null;
        }
    }

    /** Logical full: pg_dump, a change, pg_restore of the backup into a new database, proven. */
    private StrategyRow logicalFull(Path work, ConnectionSettings conn) throws SQLException, IOException {
        String name = "logical full (pg_dump)";
        progress.step("strategy " + name);
        ContentChecksum.Result atBackup;
        try (Connection c = Db.connect(conn)) {
            atBackup = ContentChecksum.compute(c);
        }
        Path repo = work.resolve("repo-logical-full");
        LogicalBackupResult b;
        try {
            b = new LogicalBackup(clock, progress, env).run(new LogicalBackupRequest(repo.toString(), conn, BackupType.FULL, Compression.ZSTD, 1, null));
        } catch (PgstrataException e) {
            if (e.code() == org.pgstrata.api.ErrorCode.BINARIES || e.code() == org.pgstrata.api.ErrorCode.CLIENT_TOO_OLD) {
                progress.warn(name + " not run: " + e.getMessage());
                return StrategyRow.notRun(name, e.getMessage());
            }
            throw e;
        }
        try (Connection c = Db.connect(conn)) {
            Books.mutate(c, 1000, 1000, 1000, 44);
        }
        String db = "compare_logical_full";
        LogicalRestoreResult r = new LogicalRestore(progress, env).run(new LogicalRestoreRequest(repo.toString(), b.id(), conn, db, true, false,
                null, 2, null, false));
        String reason = prove(conn.withDbname(db), atBackup);
        dropDatabase(conn, db);
        return new StrategyRow(name, b.seconds(), directoryBytes(repo), r.seconds(), 1, reason == null, reason);
    }

    /**
     * Logical differential: a logical full, then three changes each followed by a differential
     * (rows changed since the full), then every point restored into a new database and proven.
     */
    private StrategyRow logicalDifferential(Path work, ConnectionSettings conn) throws SQLException, IOException {
        String name = "logical differential";
        progress.step("strategy " + name);
        Path repo = work.resolve("repo-logical-diff");
        List<String> ids = new ArrayList<>();
        List<ContentChecksum.Result> expected = new ArrayList<>();
        double diffSeconds = 0;
        for (int i = 0; i <= 3; i++) {
            try (Connection c = Db.connect(conn)) {
                if (i > 0) {
                    Books.mutate(c, 500, 500, 500, 400 + i);
                }
                expected.add(ContentChecksum.compute(c));
            }
            LogicalBackupResult b;
            try {
                b = new LogicalBackup(clock, progress, env).run(new LogicalBackupRequest(repo.toString(), conn, i == 0 ? BackupType.FULL : BackupType.DIFF,
                        Compression.ZSTD, 1, null));
            } catch (PgstrataException e) {
                if (e.code() == org.pgstrata.api.ErrorCode.BINARIES || e.code() == org.pgstrata.api.ErrorCode.CLIENT_TOO_OLD) {
                    return StrategyRow.notRun(name, e.getMessage());
                }
                throw e;
            }
            ids.add(b.id());
            if (i > 0) {
                diffSeconds += b.seconds();
            }
        }
        double restoreSeconds = 0;
        String reason = null;
        for (int i = ids.size() - 1; i >= 0; i--) {
            String db = "compare_logical_diff_" + i;
            LogicalRestoreResult r = new LogicalRestore(progress, env).run(new LogicalRestoreRequest(repo.toString(), ids.get(i), conn, db, true,
                    false, null, 2, null, false));
            restoreSeconds += r.seconds();
            String why = prove(conn.withDbname(db), expected.get(i));
            if (why != null && reason == null) {
                reason = "backup " + ids.get(i) + ": " + why;
            }
            dropDatabase(conn, db);
        }
        return new StrategyRow(name, diffSeconds / 3, directoryBytes(repo), restoreSeconds / ids.size(), ids.size(), reason == null, reason);
    }

    private static void dropDatabase(ConnectionSettings conn, String db) throws SQLException {
        try (Connection c = Db.connect(conn)) {
            Db.execute(c, "DROP DATABASE IF EXISTS \"" + db + "\"");
        }
    }

    /** Waits until the server's archiver has nothing left to push. */
    private static void waitUntilArchived(Connection c) throws SQLException {
        for (int i = 0; i < 600; i++) {
            if ("0".equals(Db.queryString(c, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"))) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new PgstrataException(org.pgstrata.api.ErrorCode.WAL_MISSING, "the compare cluster did not archive its WAL within a minute",
                "look at its server log for archive_command errors");
    }

    private static long directoryBytes(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /** Null when the restored content equals {@code expected} and amcheck is clean; otherwise why not. */
    static String prove(ConnectionSettings restored, ContentChecksum.Result expected) throws SQLException {
        try (Connection c = Db.connect(restored)) {
            ContentChecksum.Result got = ContentChecksum.compute(c);
            if (!got.combined().equals(expected.combined())) {
                return "content differs: expected " + expected.totalRows() + " rows hashing to " + expected.combined()
                        + ", restored " + got.totalRows() + " rows hashing to " + got.combined();
            }
            List<String> problems = Amcheck.check(c);
            if (!problems.isEmpty()) {
                return "amcheck found " + problems.size() + " problem(s), first: " + problems.get(0);
            }
            return null;
        }
    }

    private static synchronized void cleanUp(List<LocalCluster> clusters, Path work, boolean keep) {
        for (LocalCluster c : clusters) {
            try {
                c.stopImmediately();
            } catch (RuntimeException e) {
                // keep cleaning the rest
            }
        }
        clusters.clear();
        if (keep || !Files.exists(work)) {
            return;
        }
        try {
            deleteTree(work);
        } catch (IOException e) {
            // a leftover temp directory is not worth failing the run for
        }
    }
}
