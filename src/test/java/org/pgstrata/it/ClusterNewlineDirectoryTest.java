package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * cluster init and cluster start in a data directory whose name holds a line break. PostgreSQL
 * writes postmaster.pid out of place for it (RestoreStartNewlineTargetTest): init and start
 * succeeded, start reported "on 127.0.0.1:1796457659" (the start time as the port), status said
 * "port 1796457659", and check or backup -D then failed with "invalid port 1796457659" (exit 2,
 * as if the user had given it). restore --start and drill already refuse such a directory; init
 * and start now do too, in one line, before anything is written or started.
 */
class ClusterNewlineDirectoryTest extends PgTest {
    @Test
    void initAndStart_inADirectoryWithALineBreak_areRefusedInOneLine() throws Exception {
        Path broken = dir.resolve("data\nsecond line");
        CliRun init = CliRun.run("cluster", "init", "-q", "-D", broken.toString(), "--port", Integer.toString(LocalCluster.freePort()), "--start");
        pg.trackRestored(broken, 17);
        assertThat(init.exitCode()).as(init.out() + init.err()).isEqualTo(2);
        assertThat(init.errLines()).hasSize(1);
        assertThat(init.err()).contains("its name holds a line break");
        assertThat(broken).doesNotExist();

        // A cluster made elsewhere and moved there (or restored there without --start) is not started either.
        Path good = dir.resolve("data");
        CliRun made = CliRun.run("cluster", "init", "-q", "-D", good.toString(), "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(made.exitCode()).as(made.err()).isZero();
        Files.move(good, broken);
        CliRun start = CliRun.run("cluster", "start", "-D", broken.toString());
        assertThat(start.exitCode()).as(start.out() + start.err()).isEqualTo(2);
        assertThat(start.errLines()).hasSize(1);
        assertThat(start.err()).contains("cannot start a server in", "its name holds a line break");
        assertThat(broken.resolve("postmaster.pid")).doesNotExist();
    }
}
