package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * Waiting for a server follows what it does, not the clock: a server that exits is reported at
 * once with its log, and one that makes no progress is given up after --start-timeout and not
 * left running.
 */
class WaitsFollowProgressTest extends PgTest {
    @Test
    void aStartThatMakesNoProgress_isGivenUpAfterStartTimeout_andStopped() throws Exception {
        LocalCluster c = pg.start("stuck", 17);
        c.stop();
        // Archive recovery whose restore_command never returns: the server neither dies nor moves.
        Files.writeString(c.pgdata().resolve("recovery.signal"), "");
        Files.writeString(c.pgdata().resolve("postgresql.auto.conf"), "\nrestore_command = 'sleep 600'\n", StandardOpenOption.APPEND);
        long t0 = System.nanoTime();
        CliRun r = CliRun.run("cluster", "start", "--pgdata", c.pgdata().toString(), "--start-timeout", "5");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
        assertThat(r.err()).contains("made no progress for").contains("was stopped again").contains("--start-timeout");
        assertThat(seconds).isLessThan(90);
        assertThat(c.isRunning()).isFalse();
    }

    @Test
    void aServerThatExitsWhileStarting_isReportedAtOnce_withItsLog() throws Exception {
        LocalCluster a = pg.start("a", 17);
        LocalCluster b = pg.start("b", 17);
        b.stop();
        int taken = PgSupport.conn(a).port();
        CliRun r = CliRun.run("cluster", "start", "--pgdata", b.pgdata().toString(), "--port", Integer.toString(taken));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
        assertThat(r.err()).contains("exited while starting").contains("could not create any TCP/IP sockets");
        assertThat(b.isRunning()).isFalse();
    }
}
