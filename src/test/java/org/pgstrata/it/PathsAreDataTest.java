package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.wal.WalPush;

/**
 * Paths are data, never code (DESIGN invariant 10): a data directory, a repository and a restore
 * target whose names hold spaces, quotes, backslashes, PostgreSQL's octal escape {@code \047},
 * {@code $(..)}, backticks, semicolons and Unicode work through init, archiving, backup and a
 * point-in-time restore, and none of the commands hidden in them ever runs.
 */
class PathsAreDataTest extends PgTest {
    private Path markers;

    @BeforeEach
    void markerDirectory() throws Exception {
        markers = Files.createDirectories(dir.resolve("markers"));
    }

    /**
     * A path under the test directory whose name tries every way into a shell or a
     * configuration file; each command in it would leave a file in {@link #markers}.
     */
    private Path hostile(String tag) {
        String m = markers + "/" + tag;
        return Path.of(dir + "/" + tag + " $(touch " + m + "1) `touch " + m + "2` it's \\047; touch " + m + "3; echo \\047 \\ \" ü 雪");
    }

    @Test
    void clusterInit_archive_backup_pointInTimeRestore_withHostilePaths_workAndRunNothing() throws Exception {
        Path pgdata = hostile("d");
        Path repo = hostile("r");
        int port = LocalCluster.freePort();
        CliBackups.ok("cluster", "init", "-q", "--pg-version", "17", "--pgdata", pgdata.toString(), "--port", Integer.toString(port),
                "--archive-to", repo.toString(), "--start");
        LocalCluster source = pg.trackRestored(pgdata, 17);
        // The server read back exactly the command pgstrata meant, quotes, backslashes and all.
        assertThat(PgSupport.queryString(source, "SHOW archive_command")).isEqualTo(WalPush.archiveCommand(repo.toString()));
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 2_000, 2_000, 1, Progress.NONE);
        }
        CliBackups.backup(repo, source, "full");
        Map<String, ContentChecksum.Result> atPoint;
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 100, 100, 50, 2);
            atPoint = ClusterContent.of(source);
            Db.execute(c, "SELECT pg_create_restore_point('it''s \\047 here')");
            Books.mutate(c, 100, 100, 50, 3);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        Map<String, ContentChecksum.Result> latest = ClusterContent.of(source);
        waitUntilArchived(source);

        // restore_command, written into the copy's postgresql.auto.conf, names the same hostile repository.
        CliBackups.Restored r = CliBackups.restore(pg, repo, hostile("t"), 17, "--target", "latest");
        assertThat(ClusterContent.of(r.cluster())).isEqualTo(latest);
        assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();
        r.cluster().stop();

        // A named point (quote and backslash in its name) with the shutdown action: the copy stops there and says where.
        Path shut = hostile("s");
        CliRun run = CliRun.run("restore", "--repo", repo.toString(), "--to", shut.toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()), "--target-name", "it's \\047 here", "--target-action", "shutdown");
        LocalCluster stopped = pg.trackRestored(shut, 17);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).doesNotContain("null").contains("recovery stopping at restore point \"it's \\047 here\"")
                .contains("shut down, as --target-action shutdown asked");
        assertThat(stopped.isRunning()).isFalse();
        // Started again with promotion at the same target, it holds the content of that point.
        Files.writeString(shut.resolve("postgresql.auto.conf"), "recovery_target_action = 'promote'\n", java.nio.file.StandardOpenOption.APPEND);
        stopped.start();
        PgSupport.queryString(stopped, "SELECT 1");
        PgSupport.awaitReadWrite(stopped, 300);
        assertThat(ClusterContent.of(stopped)).isEqualTo(atPoint);

        try (var left = Files.list(markers)) {
            assertThat(left.toList()).as("commands hidden in the paths ran").isEmpty();
        }
    }

    /**
     * The reproduction of issue 15: PostgreSQL's parser decodes {@code \047} to a quote, so a
     * repository path that only had its quotes doubled ended archive_command's quoting early and
     * ran the rest at the next WAL switch.
     */
    @Test
    void archiveTo_withAnOctalEscapedQuote_archivesIntoThatDirectory_andRunsNothing() throws Exception {
        Path repo = Path.of(dir + "/z\\047; touch " + markers + "/pwned; echo \\047");
        Path pgdata = dir.resolve("plain");
        CliBackups.ok("cluster", "init", "-q", "--pg-version", "17", "--pgdata", pgdata.toString(), "--port",
                Integer.toString(LocalCluster.freePort()), "--archive-to", repo.toString(), "--start");
        LocalCluster c = pg.trackRestored(pgdata, 17);
        PgSupport.sql(c, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i", "SELECT pg_switch_wal()");
        AssertionError archiving = null;
        try {
            waitUntilArchived(c);
        } catch (AssertionError e) {
            archiving = e; // the injection, when it happens, comes first
        }
        try (var left = Files.list(markers)) {
            assertThat(left.toList()).as("the command hidden in the repository path ran").isEmpty();
        }
        if (archiving != null) {
            throw archiving;
        }
        try (var archived = Files.walk(repo.resolve("archive"))) {
            assertThat(archived.filter(Files::isRegularFile).count()).isPositive();
        }
    }

    @Test
    void walSetupApply_withAHostileRepository_onStoppedAndRunningClusters_archives() throws Exception {
        for (boolean running : new boolean[] {false, true}) {
            String name = running ? "running" : "stopped";
            LocalCluster c = pg.start(name, 17);
            int port = PgSupport.conn(c).port();
            Path repo = hostile("w-" + name);
            if (!running) {
                c.stop(); // wal setup appends to postgresql.auto.conf itself
            }
            CliBackups.ok("wal", "setup", "-q", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port",
                    Integer.toString(port));
            c.stop(); // archive_mode needs a restart
            c.start();
            assertThat(PgSupport.queryString(c, "SHOW archive_command")).isEqualTo(WalPush.archiveCommand(repo.toString()));
            PgSupport.sql(c, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i", "SELECT pg_switch_wal()");
            waitUntilArchived(c);
            assertThat(PgSupport.queryString(c, "SELECT archived_count > 0 FROM pg_stat_archiver")).isEqualTo("t");
        }
        try (var left = Files.list(markers)) {
            assertThat(left.toList()).as("commands hidden in the paths ran").isEmpty();
        }
    }

    /**
     * A line break in a repository path stays data: the comment line wal setup writes into a
     * stopped cluster's postgresql.auto.conf must not end there and let the rest of the path be
     * read as settings (here one that would stop the server from starting).
     */
    @Test
    void walSetupApply_onAStoppedCluster_aLineBreakInTheRepository_setsNothingElse() throws Exception {
        LocalCluster c = pg.start("nl", 17);
        int port = PgSupport.conn(c).port();
        c.stop();
        Path repo = Path.of(dir + "/nl\nshared_preload_libraries = 'pgstrata_injected'\n#");
        assertThat(repo.toString()).contains("\n");
        CliBackups.ok("wal", "setup", "-q", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port",
                Integer.toString(port));
        c.start();
        assertThat(PgSupport.queryString(c, "SHOW shared_preload_libraries")).isEmpty();
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).isEqualTo(WalPush.archiveCommand(repo.toString()));
        PgSupport.sql(c, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i", "SELECT pg_switch_wal()");
        waitUntilArchived(c);
        try (var archived = Files.walk(repo.resolve("archive"))) {
            assertThat(archived.filter(Files::isRegularFile).count()).isPositive();
        }
        // check names the repository in its lines: each stays one line
        CliRun check = CliBackups.ok("check", "--repo", repo.toString(), "--port", Integer.toString(port));
        assertThat(check.out().lines().filter(l -> !l.startsWith("ok: "))).as("what check printed:%n%s", check.out()).isEmpty();
    }

    /**
     * PostgreSQL 15 cuts archive_command at 1023 bytes, and the command names the repository four
     * times (the spool check's three and the push): a repository path of 200 bytes, well under
     * PATH_MAX, made a command that the server cut into a shell syntax error, so that nothing was
     * ever archived while wal setup said all was set.
     */
    @Test
    void walSetupApply_withALongRepositoryPath_onPostgres15_archives() throws Exception {
        LocalCluster c = pg.start("long15", 15);
        int port = PgSupport.conn(c).port();
        Path repo = dir.resolve("r".repeat(200)).resolve("it's a repo");
        CliBackups.ok("wal", "setup", "-q", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port",
                Integer.toString(port));
        c.stop(); // archive_mode needs a restart
        c.start();
        String command = PgSupport.queryString(c, "SHOW archive_command");
        assertThat(command).isEqualTo(WalPush.archiveCommand(repo.toString()));
        assertThat(command.replace("%%", "%").replace("%p", "pg_wal/" + "0".repeat(40)).replace("%f", "0".repeat(40)).getBytes(
                java.nio.charset.StandardCharsets.UTF_8).length).as("archive_command as PostgreSQL 15 expands it: %s", command).isLessThan(1024);
        PgSupport.sql(c, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i", "SELECT pg_switch_wal()");
        waitUntilArchived(c);
        try (var archived = Files.walk(repo.resolve("archive"))) {
            assertThat(archived.filter(Files::isRegularFile).count()).isPositive();
        }
    }

    /** Until nothing waits to be archived; fails when the archiver reports a failure and has archived nothing since. */
    static void waitUntilArchived(LocalCluster c) throws Exception {
        long give = System.nanoTime() + 300_000_000_000L;
        while (System.nanoTime() < give) {
            String ready = PgSupport.queryString(c, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'");
            if ("0".equals(ready)) {
                return;
            }
            String failing = PgSupport.queryString(c, "SELECT failed_count > 2 AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) "
                    + "FROM pg_stat_archiver");
            assertThat(failing).as("archive_command keeps failing; see %s", c.pgdata().resolve(LocalCluster.LOG_FILE)).isEqualTo("f");
            Thread.sleep(100);
        }
        throw new AssertionError("nothing archived from " + c.pgdata());
    }
}
