package org.pgstrata.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageFactory;
import org.pgstrata.storage.s3.S3Location;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.LogicalRestoreResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.StrategyRow;
import org.pgstrata.backup.PhysicalBackup;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.StallWatch;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.db.PgClient;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.logical.LogicalBackup;
import org.pgstrata.logical.LogicalRestore;
import org.pgstrata.manifest.Repository;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.restore.PhysicalRestore;
import org.pgstrata.wal.WalSetup;

/**
 * The main job: on a throwaway cluster, load the books workload, then for each strategy take a
 * first backup and K cycles of a change followed by that strategy's backup, measuring each
 * backup's seconds and the repository's size after it; then restore the latest point, the oldest
 * one and (where WAL allows) a moment between cycles, and prove each restore equals the content
 * captured at its point. Every server and directory it makes is removed at the end, also when
 * interrupted.
 */
public final class Compare {
    /**
     * @param strategies keys of the strategies to run (see {@link #STRATEGIES}); empty: all
     * @param seed       seeds the load and every change, so that a run can be repeated
     */
    /**
     * @param repo where the strategies' repositories go (a directory or s3://BUCKET/PREFIX, each
     *             strategy under its own name in a new compare-TIME child), or null for the work directory
     */
    public record Options(long rows, int batchSize, int cycles, CompareResult.Change change, Set<String> strategies, Integer pgVersion,
                          Path pgBin, Path workDir, boolean keep, long seed, String repo) {
        public Options(long rows, int batchSize, Integer pgVersion, Path pgBin, Path workDir, boolean keep) {
            this(rows, batchSize, 5, new CompareResult.Change(1000, 1000, 500), Set.of(), pgVersion, pgBin, workDir, keep, 1, null);
        }
    }

    /** Every strategy compare knows, by the key --strategies takes, in the order it runs them. */
    public static final Map<String, String> STRATEGIES = strategies();

    private static Map<String, String> strategies() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("full", "full (physical)");
        m.put("incr", "incremental chain");
        m.put("diff", "differential");
        m.put("reverse", "reverse delta");
        m.put("pitr", "base backup + WAL (point in time)");
        m.put("logical", "logical full (pg_dump)");
        m.put("logical-diff", "logical differential");
        return java.util.Collections.unmodifiableMap(m);
    }

    private static final String VERSION = Compare.class.getPackage().getImplementationVersion() == null
            ? "dev" : Compare.class.getPackage().getImplementationVersion();

    private final Clock clock;
    private final Progress progress;
    private final Map<String, String> env;
    /** What the engines report: only their warnings; compare itself says what it is doing. */
    private final Progress quiet;

    public Compare(Clock clock, Progress progress, Map<String, String> env) {
        this.clock = clock;
        this.progress = progress;
        this.env = env;
        this.quiet = Progress.warningsOnly(progress);
    }

    public CompareResult run(Options opt) {
        for (String s : opt.strategies()) {
            if (!STRATEGIES.containsKey(s)) {
                throw new PgstrataException(ErrorCode.USAGE, "unknown strategy '" + s + "'", "use some of " + String.join(",", STRATEGIES.keySet()));
            }
        }
        if (opt.cycles() < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--cycles must be at least 1", "the default is 5");
        }
        if (opt.rows() < 0) {
            throw new PgstrataException(ErrorCode.USAGE, "--rows must be 0 or more", "the default is 100000");
        }
        if (opt.batchSize() < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--batch-size must be at least 1", "the default is 10000");
        }
        Integer version = opt.pgVersion();
        if (version == null && opt.pgBin() == null && env.get("PGSTRATA_PG_BIN") == null) {
            version = majorForPgDump();
        }
        PgBinaries bin = PgBinaries.resolve(opt.pgBin(), version, env);
        // A compare killed with SIGKILL left its servers running: stopped here, and its directory removed.
        for (String line : WorkDir.cleanLeftovers(Path.of(System.getProperty("java.io.tmpdir")), opt.workDir())) {
            progress.warn(line);
        }
        // The work directory is removed at the end: one the user already keeps files in is not compare's to remove.
        boolean existed = opt.workDir() != null && Files.isDirectory(opt.workDir());
        if (existed && !isEmptyDirectory(opt.workDir())) {
            throw new PgstrataException(ErrorCode.USAGE, "--work-dir " + opt.workDir() + " is not empty; compare removes what is in its work directory at the end",
                    "give a new or empty directory");
        }
        Path work;
        WorkDir mark;
        try {
            work = opt.workDir() != null ? Files.createDirectories(opt.workDir()) : Files.createTempDirectory(WorkDir.TEMP_PREFIX);
            mark = WorkDir.take(work, opt.keep());
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot create a work directory: " + e.getMessage(), "set TMPDIR or --work-dir");
        }
        // Read by the shutdown hook (Ctrl-C, SIGTERM) while this thread may still add to it
        List<LocalCluster> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        String repos = opt.repo() == null ? work.toString()
                : StorageFactory.child(opt.repo(), "compare-" + Instant.now(clock).toString().replaceAll("[^0-9TZ]", ""));
        Thread cleanup = new Thread(() -> cleanUp(started, work, existed, mark, repos, opt), "pgstrata-compare-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        String startedAt = Instant.now(clock).toString();
        try {
            int port = LocalCluster.freePort();
            progress.status("initialising a PostgreSQL " + bin.version() + " cluster in " + work.resolve("source") + " on port " + port);
            // The source archives into the point-in-time strategy's repository from the start.
            String pitrRepo = StorageFactory.child(repos, "repo-pitr");
            LocalCluster source = LocalCluster.init(work.resolve("source"), bin,
                    new LocalCluster.InitOptions(port, "\n" + WalSetup.confLines(pitrRepo)));
            started.add(source);
            try (Repository r = Repository.open(pitrRepo).prepared()) {
                r.initialize(ControlFile.read(source.pgdata()).systemIdentifierText(), bin.major(), clock);
            }
            source.start(null, org.pgstrata.api.CipherPass.environment()); // archive_command's passphrase, when the repositories are encrypted
            ConnectionSettings conn = new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
            Books.PopulateResult pop;
            long dbBytes;
            try (Connection c = Db.connect(conn)) {
                Books.init(c);
                progress.status("populating " + opt.rows() + " books in batches of " + opt.batchSize());
                pop = Books.populate(c, opt.rows(), opt.batchSize(), opt.seed(), quiet);
                progress.status("settling books: " + Books.SETTLE);
                Books.settle(c, quiet); // as demo populate does: every strategy starts from a settled table
                dbBytes = Long.parseLong(Db.queryString(c, "SELECT pg_database_size(current_database())"));
            }
            Run run = new Run(opt, work, repos, source, conn, bin, started, pitrRepo);
            List<StrategyRow> rows = new ArrayList<>();
            for (String key : STRATEGIES.keySet()) {
                if (opt.strategies().isEmpty() || opt.strategies().contains(key)) {
                    rows.add(run.strategy(key));
                }
            }
            // A line of its own: on a terminal a status line ("done") was left for the results to run into.
            progress.step("compare finished: " + rows.size() + " strategies measured and proven as the table says");
            return new CompareResult(bin.major(), pop.rows(), opt.batchSize(), pop.seconds(), dbBytes, rows, bin.version(), VERSION, opt.seed(),
                    opt.cycles(), opt.change(), startedAt);
        } catch (SQLException e) {
            throw Db.sqlFailed("the compare workload", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "compare failed: " + e.getMessage(), null, e);
        } finally {
            cleanUp(started, work, existed, mark, repos, opt);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs (and finds nothing left to do)
            }
        }
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

    /** Seconds rounded to the millisecond: what is printed, written as JSON and drawn is the same number. */
    static double seconds(double s) {
        return Math.round(s * 1000) / 1000.0;
    }

    /** One compare run's shared state: the source cluster and where each strategy works. */
    private final class Run {
        private final Options opt;
        private final Path work;
        /** Where the strategies' repositories go: the work directory, or under --repo. */
        private final String repos;
        private final LocalCluster source;
        private final ConnectionSettings conn;
        private final PgBinaries bin;
        private final List<LocalCluster> started;
        private final String pitrRepo;
        private long changes;

        Run(Options opt, Path work, String repos, LocalCluster source, ConnectionSettings conn, PgBinaries bin, List<LocalCluster> started,
            String pitrRepo) {
            this.opt = opt;
            this.work = work;
            this.repos = repos;
            this.source = source;
            this.conn = conn;
            this.bin = bin;
            this.started = started;
            this.pitrRepo = pitrRepo;
        }

        StrategyRow strategy(String key) throws SQLException, IOException {
            String name = STRATEGIES.get(key);
            try {
                return switch (key) {
                    case "full" -> perCycle(key, physical(key, BackupType.FULL, BackupType.FULL));
                    case "incr" -> perCycle(key, physical(key, BackupType.FULL, BackupType.INCR));
                    case "diff" -> perCycle(key, physical(key, BackupType.FULL, BackupType.DIFF));
                    case "reverse" -> perCycle(key, physical(key, BackupType.REVERSE, BackupType.REVERSE));
                    case "pitr" -> pointInTime();
                    case "logical" -> perCycle(key, logical(key, BackupType.FULL));
                    case "logical-diff" -> perCycle(key, logical(key, BackupType.DIFF));
                    default -> throw new IllegalArgumentException(key);
                };
            } catch (PgstrataException e) {
                if (key.startsWith("logical") && (e.code() == ErrorCode.BINARIES || e.code() == ErrorCode.CLIENT_TOO_OLD)) {
                    progress.warn(name + " not run: " + e.getMessage());
                    return StrategyRow.notRun(name, key, e.getMessage());
                }
                throw e;
            }
        }

        /** The server's clock, as a recovery target time. */
        private String now() throws SQLException {
            try (Connection c = Db.connect(conn)) {
                return Db.queryString(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
            }
        }

        /** A change of the workload, the same for every strategy's cycle {@code cycle}. */
        private ContentChecksum.Result change(int cycle) throws SQLException, IOException {
            try (Connection c = Db.connect(conn)) {
                if (cycle > 0) {
                    var ch = opt.change();
                    Books.mutate(c, ch.inserts(), ch.updates(), ch.deletes(), opt.seed() * 1000 + (++changes));
                }
                return ContentChecksum.compute(c);
            }
        }

        /** How one strategy backs up (returning the backup's id and seconds) and restores a backup, proving it. */
        private interface Method {
            String repo();

            String granularity();

            Taken backup(int cycle) throws SQLException, IOException;

            StrategyRow.Restore restore(String point, String backupId, ContentChecksum.Result expected) throws SQLException, IOException;
        }

        private record Taken(String id, double seconds) {
        }

        /** A strategy whose every cycle is a backup in its own repository. */
        private abstract static class BackupEachCycle implements Method {
            private final String repo;

            BackupEachCycle(String repo) {
                this.repo = repo;
            }

            @Override
            public String repo() {
                return repo;
            }

            @Override
            public String granularity() {
                return "each backup";
            }
        }

        /**
         * A first backup, then {@code cycles} times a change and a backup; then the latest and the
         * oldest point restored and proven.
         */
        private StrategyRow perCycle(String key, Method m) throws SQLException, IOException {
            String name = STRATEGIES.get(key);
            List<String> ids = new ArrayList<>();
            List<ContentChecksum.Result> expected = new ArrayList<>();
            List<Double> secs = new ArrayList<>();
            List<Long> bytes = new ArrayList<>();
            List<Double> cycleSeconds = new ArrayList<>();
            for (int i = 0; i <= opt.cycles(); i++) {
                progress.status(name + ": " + (i == 0 ? "first backup" : "cycle " + i + "/" + opt.cycles() + ": change and backup"));
                long start = System.nanoTime();
                expected.add(change(i));
                Taken t = m.backup(i);
                cycleSeconds.add((System.nanoTime() - start) / 1e9);
                ids.add(t.id());
                secs.add(seconds(t.seconds()));
                bytes.add(repositoryBytes(m.repo()));
            }
            List<StrategyRow.Restore> restores = new ArrayList<>();
            int last = ids.size() - 1;
            progress.status(name + ": restoring the latest point");
            restores.add(m.restore("latest", ids.get(last), expected.get(last)));
            progress.status(name + ": restoring the oldest point");
            restores.add(m.restore("oldest", ids.get(0), expected.get(0)));
            // What a failure just before the next backup loses: the commits of one backup interval, here a cycle (change and backup).
            double interval = cycleSeconds.subList(opt.cycles() == 0 ? 0 : 1, cycleSeconds.size()).stream().mapToDouble(Double::doubleValue)
                    .average().orElse(0);
            return row(key, secs, bytes, restores, ids.size(), m.granularity(), interval);
        }

        private StrategyRow row(String key, List<Double> secs, List<Long> bytes, List<StrategyRow.Restore> restores, int points, String granularity,
                                double rpoSeconds) {
            double backupMean = secs.subList(1, secs.size()).stream().mapToDouble(Double::doubleValue).average().orElse(0);
            double restoreMean = restores.stream().mapToDouble(StrategyRow.Restore::seconds).average().orElse(0);
            String reason = restores.stream().filter(r -> !r.proven()).map(r -> r.point() + " point (" + r.target() + ") not proven")
                    .findFirst().orElse(null);
            if (reason != null && failure != null) {
                reason = reason + ": " + failure;
            }
            failure = null;
            return new StrategyRow(STRATEGIES.get(key), seconds(backupMean), bytes.get(bytes.size() - 1), seconds(restoreMean), points,
                    reason == null, reason, key, granularity, List.copyOf(secs), List.copyOf(bytes), List.copyOf(restores), seconds(rpoSeconds));
        }

        /** Why the last failed proof failed, for the row's reason. */
        private String failure;

        private StrategyRow.Restore proven(String point, String target, double secs, ConnectionSettings restored, ContentChecksum.Result expected)
                throws SQLException {
            String why = prove(restored, expected);
            if (why != null && failure == null) {
                failure = why;
            }
            return new StrategyRow.Restore(point, target, seconds(secs), why == null);
        }

        private Method physical(String key, BackupType first, BackupType then) {
            String repo = StorageFactory.child(repos, "repo-" + key);
            return new BackupEachCycle(repo) {

                @Override
                public Taken backup(int cycle) {
                    BackupResult b = new PhysicalBackup(clock, quiet).run(new BackupRequest(repo, source.pgdata(), conn,
                            cycle == 0 ? first : then, Compression.ZSTD, 2, 0));
                    return new Taken(b.id(), b.seconds());
                }

                @Override
                public StrategyRow.Restore restore(String point, String backupId, ContentChecksum.Result expected) throws SQLException, IOException {
                    return physicalRestore(repo, point, backupId, "backup " + backupId, RecoveryTarget.IMMEDIATE, expected);
                }
            };
        }

        private StrategyRow.Restore physicalRestore(String repo, String point, String backupId, String target, RecoveryTarget recovery,
                                                    ContentChecksum.Result expected) throws SQLException, IOException {
            int port = LocalCluster.freePort();
            Path dir = work.resolve("restore-" + repo.substring(repo.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9_-]", "") + "-" + point);
            RestoreResult r;
            try {
                r = new PhysicalRestore(quiet, env).run(new RestoreRequest(repo, dir, backupId, true, port, bin.binDir(), 2, recovery));
            } finally {
                started.add(new LocalCluster(dir, bin));
            }
            StrategyRow.Restore result = proven(point, target, r.readySeconds(), conn.withPort(port), expected);
            new LocalCluster(dir, bin).stop();
            FileTrees.delete(dir);
            return result;
        }

        private Method logical(String key, BackupType then) {
            String repo = StorageFactory.child(repos, "repo-" + key);
            return new BackupEachCycle(repo) {

                @Override
                public Taken backup(int cycle) {
                    var b = new LogicalBackup(clock, quiet, env).run(new LogicalBackupRequest(repo, conn, cycle == 0 ? BackupType.FULL : then,
                            Compression.ZSTD, 1, null));
                    return new Taken(b.id(), b.seconds());
                }

                @Override
                public StrategyRow.Restore restore(String point, String backupId, ContentChecksum.Result expected) throws SQLException {
                    String db = "compare_" + key.replace('-', '_') + "_" + point;
                    LogicalRestoreResult r = new LogicalRestore(quiet, env).run(new LogicalRestoreRequest(repo, backupId, conn, db, true, false,
                            null, 2, null, false, false));
                    StrategyRow.Restore result = proven(point, "backup " + backupId, r.seconds(), conn.withDbname(db), expected);
                    try (Connection c = Db.connect(conn)) {
                        Db.execute(c, "DROP DATABASE IF EXISTS \"" + db + "\"");
                    }
                    return result;
                }
            };
        }

        /**
         * Base backup + WAL: one backup, then each cycle a change and a named restore point whose
         * WAL is archived (the cycle's "backup" is the wait for that). Restores: the latest WAL,
         * the base backup's own point, and a moment in time between two cycles.
         */
        private StrategyRow pointInTime() throws SQLException, IOException {
            String key = "pitr";
            String name = STRATEGIES.get(key);
            List<ContentChecksum.Result> expected = new ArrayList<>();
            List<Double> secs = new ArrayList<>();
            List<Long> bytes = new ArrayList<>();
            progress.status(name + ": base backup");
            expected.add(change(0));
            BackupResult base = new PhysicalBackup(clock, quiet).run(new BackupRequest(pitrRepo, source.pgdata(), conn, BackupType.FULL,
                    Compression.ZSTD, 2, 0, 120));
            secs.add(seconds(base.seconds()));
            bytes.add(repositoryBytes(pitrRepo));
            // a moment after cycle `middle`'s change (0: after the base backup) and before the next cycle's
            int middle = opt.cycles() / 2;
            String between = middle == 0 ? now() : null;
            for (int i = 1; i <= opt.cycles(); i++) {
                progress.status(name + ": cycle " + i + "/" + opt.cycles() + ": change and restore point");
                expected.add(change(i));
                long t0 = System.nanoTime();
                try (Connection c = Db.connect(conn)) {
                    try (var ps = c.prepareStatement("SELECT pg_create_restore_point(?)")) {
                        ps.setString(1, "compare-point-" + i);
                        ps.execute();
                    }
                    if (i == middle) {
                        between = now();
                    }
                    Db.execute(c, "SELECT pg_switch_wal()");
                    waitUntilArchived(c);
                }
                secs.add(seconds((System.nanoTime() - t0) / 1e9));
                bytes.add(repositoryBytes(pitrRepo));
            }
            List<StrategyRow.Restore> restores = new ArrayList<>();
            progress.status(name + ": restoring the latest point (all archived WAL)");
            restores.add(physicalRestore(pitrRepo, "latest", null, "latest", new RecoveryTarget(RecoveryTarget.Type.LATEST, null, true,
                    "latest", "promote"), expected.get(expected.size() - 1)));
            progress.status(name + ": restoring the oldest point (the base backup)");
            restores.add(physicalRestore(pitrRepo, "oldest", base.id(), "backup " + base.id(), RecoveryTarget.IMMEDIATE,
                    expected.get(0)));
            progress.status(name + ": restoring " + between + ", between cycles " + middle + " and " + (middle + 1));
            restores.add(physicalRestore(pitrRepo, "between", null, "time " + between, new RecoveryTarget(RecoveryTarget.Type.TIME,
                    between, true, "latest", "promote"), expected.get(middle)));
            // What a failure loses: the WAL not yet archived; here the mean time from a cycle's commits to their WAL archived.
            double lag = secs.subList(1, secs.size()).stream().mapToDouble(Double::doubleValue).average().orElse(0);
            return row(key, secs, bytes, restores, opt.cycles() + 1, "any moment after the base backup (WAL)", lag);
        }
    }

    /**
     * Waits until the server's archiver has nothing left to push, for as long as it makes
     * progress (files archived, fewer waiting); it fails when nothing has moved for
     * {@link LocalCluster#DEFAULT_STALL}, naming the archiver's last failure.
     */
    private static void waitUntilArchived(Connection c) throws SQLException {
        StallWatch watch = new StallWatch(LocalCluster.DEFAULT_STALL);
        while (true) {
            String ready = Db.queryString(c, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'");
            if ("0".equals(ready)) {
                return;
            }
            watch.observe(List.of(ready, Db.queryString(c, "SELECT archived_count FROM pg_stat_archiver")));
            if (watch.stalled()) {
                String failure = Db.queryString(c, "SELECT coalesce(last_failed_wal || ' failed at ' || last_failed_time, 'no failure reported') "
                        + "FROM pg_stat_archiver");
                throw new PgstrataException(ErrorCode.WAL_MISSING, "the compare cluster archived nothing for " + watch.stillSeconds() + " s with "
                        + ready + " WAL file(s) waiting (" + failure + ")", "look at its server log for archive_command errors");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** A repository's size: the sum of its objects' sizes, on any storage. */
    private static long repositoryBytes(String location) throws IOException {
        try (Storage s = StorageFactory.open(location)) {
            return s.totalBytes("");
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

    private static boolean isEmptyDirectory(Path dir) {
        try {
            return FileTrees.isEmpty(dir);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read the work directory " + dir + ": " + e.getMessage(), "set --work-dir to a directory you can write");
        }
    }

    /** @param existed the work directory was given and existed (empty): its contents go, the directory stays */
    static synchronized void cleanUp(List<LocalCluster> clusters, Path work, boolean existed, WorkDir mark, String repos, Options opt) {
        for (LocalCluster c : clusters) {
            try {
                c.stopImmediately();
            } catch (RuntimeException e) {
                // keep cleaning the rest
            }
        }
        clusters.clear();
        // Interrupted (Ctrl-C, SIGTERM), the run's own thread goes on meanwhile: a restored copy whose restore has not
        // returned yet is in no list, and would keep running in a directory removed under it, postmaster.pid and all.
        WorkDir.stopServers(work);
        if (opt.keep()) {
            mark.close(); // every server is stopped: no longer a run's to clean up after
            return;
        }
        // What the run made goes while the mark still says whose the directory is: a removal cut short (killed, or a
        // file that would not go) leaves a directory the next compare recognises as a killed run's and removes.
        boolean emptied = true;
        try (var entries = Files.list(work)) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                if (!name.equals(WorkDir.LOCK) && !name.equals(WorkDir.ABOUT)) {
                    FileTrees.delete(p);
                }
            }
        } catch (IOException e) {
            emptied = false;
        }
        if (emptied) {
            mark.close();
        } else {
            mark.release();
        }
        if (opt.repo() != null) {
            try (Storage s = StorageFactory.open(repos)) {
                s.deletePrefix("");
                if (!S3Location.isS3(repos)) {
                    FileTrees.delete(Path.of(repos));
                }
            } catch (IOException | RuntimeException e) {
                // what is left says compare-TIME in its name
            }
        }
        if (!emptied || existed) {
            return; // a directory that existed stays, emptied
        }
        try {
            FileTrees.delete(work);
        } catch (IOException e) {
            // a leftover temp directory is not worth failing the run for
        }
    }
}
