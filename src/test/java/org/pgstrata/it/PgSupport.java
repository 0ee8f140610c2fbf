package org.pgstrata.it;

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
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;

/**
 * Real servers for tests, started through the same {@link LocalCluster} code as the command line.
 * Every cluster a test makes is stopped by {@link #close()}.
 */
public final class PgSupport implements AutoCloseable {
    private final List<LocalCluster> clusters = new ArrayList<>();
    private final Path root;

    public PgSupport(Path root) {
        this.root = root;
    }

    public static Map<String, String> env() {
        // Tests choose their binaries explicitly; an inherited PGSTRATA_PG_BIN or PG* would change what they test.
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG"));
        return env;
    }

    public static Pgstrata facade() {
        return new Pgstrata(Clock.systemUTC(), Progress.NONE, env());
    }

    public LocalCluster start(String name, int major) {
        PgBinaries bin = PgBinaries.resolve(null, major, env());
        LocalCluster c = LocalCluster.init(root.resolve(name), bin, LocalCluster.InitOptions.port(LocalCluster.freePort()));
        clusters.add(c);
        c.start();
        return c;
    }

    /** Remembers a cluster (e.g. a restored one) so that it is stopped at the end. */
    public LocalCluster track(LocalCluster c) {
        clusters.add(c);
        return c;
    }

    public static ConnectionSettings conn(LocalCluster c) {
        int port = c.status().orElseThrow(() -> new IllegalStateException(c.pgdata() + " is not running")).port();
        return new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
    }

    public static Connection connect(LocalCluster c) {
        return Db.connect(conn(c));
    }

    /** The first column of the first row of {@code query}, as text. */
    public static String queryString(LocalCluster c, String query) throws SQLException {
        try (Connection conn = connect(c)) {
            return Db.queryString(conn, query);
        }
    }

    /**
     * Waits until {@code c} has left recovery (a restored copy replays its WAL and promotes after it
     * already takes read-only connections); fails after {@code seconds}.
     */
    public static void awaitReadWrite(LocalCluster c, int seconds) throws SQLException, InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while ("t".equals(queryString(c, "SELECT pg_is_in_recovery()"))) {
            if (System.nanoTime() > end) {
                throw new AssertionError(c.pgdata() + " still in recovery after " + seconds + " s");
            }
            Thread.sleep(100);
        }
    }

    /**
     * Waits until a new session of {@code c} shows {@code value} for setting {@code name} (after an
     * ALTER SYSTEM and pg_reload_conf(), which returns before the server has reread its files);
     * fails after {@code seconds}.
     */
    public static void awaitSetting(LocalCluster c, String name, String value, int seconds) throws SQLException, InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        String shown;
        while (!(shown = queryString(c, "SELECT current_setting('" + name.replace("'", "''") + "')")).equals(value)) {
            if (System.nanoTime() > end) {
                throw new AssertionError(c.pgdata() + " still shows " + name + " = '" + shown + "' after " + seconds + " s, not '" + value + "'");
            }
            Thread.sleep(50);
        }
    }

    public static void sql(LocalCluster c, String... statements) throws SQLException {
        try (Connection conn = connect(c)) {
            for (String s : statements) {
                Db.execute(conn, s);
            }
        }
    }

    public static BackupResult fullBackup(Path repo, LocalCluster c) {
        return facade().backup(new BackupRequest(repo.toString(), c.pgdata(), conn(c), BackupType.FULL, Compression.ZSTD, 2, 0));
    }

    /**
     * A PostgreSQL 17 cluster at {@code name} under this root that archives its WAL into
     * {@code repo}, made as {@code cluster init --archive-to} makes it, and started.
     */
    public LocalCluster archiving(String name, Path repo) {
        LocalCluster c = track(facade().clusterInit(root.resolve(name), LocalCluster.freePort(), 17, null, repo.toString()));
        c.start();
        return c;
    }

    /** {@link #archiving}, with {@code rows} books in it, inserted {@code batch} at a time. */
    public LocalCluster archivingBooks(String name, Path repo, int rows, int batch) throws SQLException, IOException {
        LocalCluster c = archiving(name, repo);
        try (Connection conn = connect(c)) {
            Books.init(conn);
            Books.populate(conn, rows, batch, 1, Progress.NONE);
        }
        return c;
    }

    /** Restores and starts the copy on a free port; the caller proves its content. */
    public LocalCluster restoreAndStart(Path repo, String backupId, String name, int major) {
        Path target = root.resolve(name);
        int port = LocalCluster.freePort();
        RestoreResult r = facade().restore(new RestoreRequest(repo.toString(), target, backupId, true, port, null, 2));
        return trackRestored(r.target(), major);
    }

    /**
     * The cluster of {@code repo} brought back into {@code to} by a point-in-time restore to
     * restore point {@code point}, promoted onto a new timeline, archiving into {@code repo} (as
     * after a PITR that undid a mistake), and started (PostgreSQL 17).
     */
    public LocalCluster forkedAt(Path repo, String point, Path to) {
        Pgstrata f = facade();
        RestoreResult r = f.restore(new RestoreRequest(repo.toString(), to, null, true, LocalCluster.freePort(), null, 2,
                new org.pgstrata.api.RecoveryTarget(org.pgstrata.api.RecoveryTarget.Type.NAME, point, true, "latest", "promote")));
        LocalCluster b = trackRestored(r.target(), 17);
        f.walSetupApply(repo.toString(), b.pgdata(), conn(b));
        b.stop();
        b.start();
        return b;
    }

    /** Remembers a restored data directory (PostgreSQL {@code major}) so that its server is stopped at the end. */
    public LocalCluster trackRestored(Path pgdata, int major) {
        return track(new LocalCluster(pgdata, PgBinaries.resolve(null, major, env())));
    }

    /**
     * Writes a configuration file with {@code repo} in [global] (line 2) and a stanza [main] with
     * {@code pgdata} (line 5) and {@code port}; values go in as written, relative ones included.
     */
    public static Path stanzaFile(Path conf, Object repo, Object pgdata, int port) throws IOException {
        Files.writeString(conf, """
                [global]
                repo = "%s"

                [main]
                pgdata = "%s"
                port = %d
                """.formatted(repo, pgdata, port));
        return conf;
    }

    /**
     * The German locale (de_DE.UTF-8), made with localedef into {@code dir}/locales for one test
     * alone: only a process with LOCPATH set to the directory returned has it.
     */
    public static Path germanLocale(Path dir) throws IOException, InterruptedException {
        Path locales = Files.createDirectory(dir.resolve("locales"));
        Process localedef = new ProcessBuilder("localedef", "-i", "de_DE", "-f", "UTF-8", locales.resolve("de_DE.UTF-8").toString())
                .redirectErrorStream(true).start();
        String said = new String(localedef.getInputStream().readAllBytes());
        org.assertj.core.api.Assertions.assertThat(localedef.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        org.assertj.core.api.Assertions.assertThat(locales.resolve("de_DE.UTF-8/LC_MONETARY"))
                .as("localedef (Debian's locales; .ci/run installs it): " + said).exists();
        return locales;
    }

    /** Copies a repository, without its lock file, so that a test can damage the copy. */
    public static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else if (!p.getFileName().toString().equals("lock")) {
                    Files.copy(p, t);
                }
            }
        }
    }

    public Path path(String name) {
        return root.resolve(name);
    }

    @Override
    public void close() {
        for (LocalCluster c : clusters) {
            try {
                c.stopImmediately();
            } catch (RuntimeException e) {
                // keep stopping the others
            }
        }
        clusters.clear();
    }

    /**
     * {@link #deleteTree} with {@code threads} deleting files at once: on a disk where each unlink
     * waits for the device (ext4 mounted with discard, as on the test machines), a tree of 100,000
     * small files takes minutes one at a time and seconds sixteen at a time.
     */
    public static void deleteTreeInParallel(Path p, int threads) throws IOException, InterruptedException {
        if (!Files.exists(p)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(p)) {
            all = walk.toList();
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<?>> deleted = new ArrayList<>();
            for (Path f : all) {
                if (!Files.isDirectory(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    deleted.add(pool.submit(() -> {
                        Files.deleteIfExists(f);
                        return null;
                    }));
                }
            }
            for (java.util.concurrent.Future<?> d : deleted) {
                d.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("cannot delete under " + p + ": " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
        deleteTree(p); // the directories, now empty
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    /** Every regular file under {@code root} with its size: what a command that must change nothing may not touch. */
    public static java.util.Map<String, Long> fileSizes(java.nio.file.Path root) throws java.io.IOException {
        java.util.Map<String, Long> files = new java.util.TreeMap<>();
        try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(root)) {
            for (java.nio.file.Path p : walk.filter(java.nio.file.Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), java.nio.file.Files.size(p));
            }
        }
        return files;
    }

    /** Every file and directory under {@code root}, with its size and modification time: to show that nothing there changed. */
    static java.util.Map<String, String> snapshot(java.nio.file.Path root) throws java.io.IOException {
        java.util.Map<String, String> m = new java.util.TreeMap<>();
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.walk(root)) {
            for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) s::iterator) {
                m.put(root.relativize(p).toString(), java.nio.file.Files.size(p) + " " + java.nio.file.Files.getLastModifiedTime(p).toMillis());
            }
        }
        return m;
    }
}
