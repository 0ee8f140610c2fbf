package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A cluster with hot_standby = off (a primary that never serves reads on a standby) keeps that
 * setting in its copy, and PostgreSQL shuts a server without hot standby down at a pause target
 * (as documented for recovery_target_action). restore --target-action pause --start of such a
 * cluster reached its target and exited 19, "the restored server stopped during recovery". It now
 * reports where recovery stopped and that the server is shut down, and why.
 */
class PauseTargetHotStandbyOffTest extends PgTest {
    @Test
    void aPauseTarget_ofAClusterWithoutHotStandby_isReportedAsShutDownAtTheTarget() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "ALTER SYSTEM SET hot_standby = off");
        source.stop();
        source.start();
        String lsn = ShutdownTarget.prepare(source, repo);

        Path copy = dir.resolve("copy");
        String port = Integer.toString(LocalCluster.freePort());
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsn, "--target-action", "pause",
                "--start", "--port", port, "--json");
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode result = new ObjectMapper().readTree(r.out());

        // In words, it says why a pause target shut the server down
        Path copy2 = dir.resolve("copy2");
        CliRun text = CliRun.run("restore", "--repo", repo.toString(), "--to", copy2.toString(), "--target-lsn", lsn, "--target-action", "pause",
                "--start", "--port", port);
        pg.trackRestored(copy2, 17);
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("hot_standby is off").doesNotContain("as --target-action shutdown asked");

        // Shut down at the target, and promoted there the copy holds the first 2000 rows
        ShutdownTarget.check(result, r.out(), lsn, restored, "pause");
    }
}
