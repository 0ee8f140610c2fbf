package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;

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
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
        String lsn = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(2001, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path copy = dir.resolve("copy");
        String port = Integer.toString(LocalCluster.freePort());
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsn, "--target-action", "pause",
                "--start", "--port", port, "--json");
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode result = new ObjectMapper().readTree(r.out());
        assertThat(result.path("state").asText()).as(r.out()).isEqualTo("shut down");
        String stopped = result.path("stoppedAtLsn").asText();
        assertThat(stopped).as(r.out()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(Lsn.parse(stopped).compareTo(Lsn.parse(lsn))).isGreaterThanOrEqualTo(0);
        assertThat(restored.isRunning()).isFalse();

        // In words, it says why a pause target shut the server down
        Path copy2 = dir.resolve("copy2");
        CliRun text = CliRun.run("restore", "--repo", repo.toString(), "--to", copy2.toString(), "--target-lsn", lsn, "--target-action", "pause",
                "--start", "--port", port);
        pg.trackRestored(copy2, 17);
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("hot_standby is off").doesNotContain("as --target-action shutdown asked");

        // Promoted at the same target, the copy holds the first 2000 rows
        Path auto = copy.resolve("postgresql.auto.conf");
        Files.writeString(auto, Files.readString(auto).replace("recovery_target_action = 'pause'", "recovery_target_action = 'promote'"));
        assertThat(Files.readString(auto)).contains("recovery_target_action = 'promote'");
        restored.start();
        // without hot standby, it accepts connections only once promoted
        for (int i = 0; i < 300; i++) {
            try {
                if ("f".equals(PgSupport.queryString(restored, "SELECT pg_is_in_recovery()"))) {
                    break;
                }
            } catch (org.pgstrata.api.PgstrataException e) {
                // not accepting connections yet
            }
            Thread.sleep(100);
        }
        assertThat(PgSupport.queryString(restored, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("2000 2000");
    }
}
