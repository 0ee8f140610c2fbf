package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A repository of logical backups only: status asks for a drill ("run 'pgstrata drill'"), and drill
 * without --backup drills the newest backup, which is the newest logical one, instead of refusing
 * because there is no physical backup.
 */
class DrillLogicalOnlyDefaultTest extends PgTest {
    @Test
    void drillWithoutBackup_drillsTheNewestLogicalBackup_whenThereIsNoPhysicalOne() throws Exception {
        LocalCluster a = pg.start("a", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 100)");
        CliBackups.logicalBackup(repo, a, "postgres", "full");
        PgSupport.sql(a, "INSERT INTO t SELECT generate_series(101, 200)");
        String newest = CliBackups.logicalBackup(repo, a, "postgres", "diff").get("id").asText();
        assertThat(CliRun.withEnv(PgSupport.env(), "status", "--repo", repo.toString()).out()).contains("run 'pgstrata drill'");

        CliRun r = CliRun.withEnv(PgSupport.env(), "drill", "-q", "--json", "--repo", repo.toString(), "--scratch-dir", dir.resolve("scratch").toString());
        assertThat(r.exitCode()).as("exit code; it said: %s", r.err()).isZero();
        JsonNode record = new ObjectMapper().readTree(r.out());
        assertThat(record.get("backupId").asText()).isEqualTo(newest);
        assertThat(record.get("kind").asText()).isEqualTo("logical");
        assertThat(record.get("result").asText()).isEqualTo("passed");
        assertThat(CliRun.withEnv(PgSupport.env(), "status", "--repo", repo.toString()).out()).startsWith("PGSTRATA OK - ");
    }
}
