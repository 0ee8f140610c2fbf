package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * The earliest time {@code info} prints for a window is the oldest backup's stop time, which the
 * backup's clock gives in nanoseconds; {@code restore --target-time} reads a time to the
 * microsecond, as PostgreSQL does, so the very time info printed (after an expire, the oldest kept
 * backup's) was refused as "before the oldest backup's consistency point (... at" that same time
 * ")". The window now begins at the first microsecond that restores.
 */
class InfoEarliestTimeRestoresTest extends PgTest {

    @Test
    void theEarliestTimeInfoPrints_restoresAfterExpire() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)");
        String kept = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (3)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        CliBackups.ok("expire", "-q", "--repo", repo.toString(), "--retain-full", "1");

        JsonNode windows = CliBackups.run("info", "--json", "--repo", repo.toString());
        assertThat(windows).hasSize(1);
        String earliest = windows.get(0).get("earliestTime").asText();

        CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("at-earliest"), 17, "--target-time", earliest);
        assertThat(r.result().get("backupId").asText()).isEqualTo(kept);
        assertThat(PgSupport.queryString(r.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks"))
                .as("the content at the earliest time: before the insert after the kept backup").isEqualTo("1,2");
    }
}
