package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * What a killed drill left is cleaned up without touching any other server. A leftover's
 * postmaster.pid names a pid that, after a reboot (a --scratch-dir on a disk that keeps it), may
 * well be another postmaster's: the cluster the drill was of, on the same host. Before, the next
 * drill (or verify) sent that server SIGQUIT, PostgreSQL's immediate shutdown, because the pid
 * was alive and its program was called postgres: a drill took the production server down.
 */
class DrillLeftoverReusedPidTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static String backup;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), 17, null));
        source.start();
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) i");
        backup = CliBackups.backupId(repo, source, "full");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void aLeftoverWhosePidIsNowTheSourcesPostmaster_isRemoved_andTheSourceKeepsRunning() throws Exception {
        // A drill killed long ago (its lock file, its copy's postmaster.pid), the pid since taken by the source's postmaster.
        Path scratch = dir.resolve("scratch");
        Path left = scratch.resolve("drill-1-1");
        Files.createDirectories(left.resolve("data"));
        Files.writeString(left.resolve("drill.lock"), "");
        Files.copy(source.pgdata().resolve("postmaster.pid"), left.resolve("data/postmaster.pid"));
        String before = PgSupport.queryString(source, "SELECT count(*) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM t");

        CliRun r = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", scratch.toString(), "--backup", backup);
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isZero();
        assertThat(Files.exists(left)).isFalse();

        assertThat(source.isRunning()).as("the source's server is still running; drill said: %s", r.err()).isTrue();
        assertThat(PgSupport.queryString(source, "SELECT count(*) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM t")).isEqualTo(before);
    }
}
