package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A cluster that was a standby once (promoted, or rebuilt from one) commonly keeps its
 * archive_cleanup_command and recovery_end_command in postgresql.conf: a primary ignores them.
 * A restored copy recovers, and ran them: a drill, and a restore of a copy, ran the source's
 * recovery_end_command when promoted, and its archive_cleanup_command (pg_archivecleanup of the
 * production archive, typically) at every restartpoint. A copy does not act on the source's
 * archive (it does not archive into it either), so both are cleared in its postgresql.auto.conf.
 */
class RecoveryCommandsOfTheSourceTest extends PgTest {
    @Test
    void aCopy_doesNotRunTheSourcesRecoveryEndOrArchiveCleanupCommand() throws Exception {
        Path repo = dir.resolve("repo");
        Path ran = dir.resolve("ran");
        LocalCluster source = pg.archiving("source", repo);
        Files.writeString(source.pgdata().resolve("postgresql.conf"), "archive_cleanup_command = 'echo cleanup %r >> " + ran + "'\n"
                + "recovery_end_command = 'echo end >> " + ran + "'\n", StandardOpenOption.APPEND);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        CliRun drill = CliRun.run("drill", "--repo", repo.toString());
        assertThat(drill.exitCode()).as(drill.err()).isZero();
        assertThat(ran).as("the drill's copy ran the source's recovery commands").doesNotExist();

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target", "latest", "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(PgSupport.queryString(restored, "SELECT count(*) FROM t")).isEqualTo("2000");
        assertThat(ran).as("the restored copy ran the source's recovery commands").doesNotExist();
        assertThat(PgSupport.queryString(restored, "SHOW archive_cleanup_command")).isEmpty();
        // The source's own lines are kept, overridden
        assertThat(Files.readString(copy.resolve("postgresql.conf"))).contains("recovery_end_command = 'echo end");
    }

    /**
     * A delayed standby (recovery_min_apply_delay, kept for "undo" of a bad change) is a common
     * host to back up from. Its delay applies to every recovery, not only streaming: a copy
     * replayed no commit younger than the delay, so a restore to a recent point waited on the
     * first one until --start-timeout called it stalled (exit 19), and a drill recorded the sound
     * backup as failed. A copy replays without delay; the source's line is kept, overridden.
     */
    @Test
    void aCopyOfADelayedStandby_replaysWithoutItsDelay() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        Files.writeString(source.pgdata().resolve("postgresql.conf"), "recovery_min_apply_delay = '1h'\n", StandardOpenOption.APPEND);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target", "latest", "--start", "--start-timeout",
                "20", "--port", Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(PgSupport.queryString(restored, "SELECT count(*) FROM t")).isEqualTo("2000");
        assertThat(PgSupport.queryString(restored, "SHOW recovery_min_apply_delay")).isEqualTo("0");
        assertThat(Files.readString(copy.resolve("postgresql.conf"))).contains("recovery_min_apply_delay = '1h'");

        CliRun drill = CliRun.run("drill", "--repo", repo.toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isZero();
    }
}
