package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.WalFileName;

/**
 * A segment lost from the archive inside the oldest backup's own WAL (between its start and its
 * consistency point): that backup restores to no point at all (restore refuses it, exit 25), yet
 * info began the window at its consistency point, listing the segment among the gaps, so the
 * window's earliest LSN and time were points no restore reaches. The window now begins at the
 * oldest backup that can reach its consistency point.
 */
class InfoWindowOldestUnusableTest extends PgTest {

    @Test
    void theOldestBackupMissingItsOwnWal_doesNotBeginTheWindow() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        JsonNode broken = CliBackups.backup(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)", "SELECT pg_switch_wal()");
        JsonNode usable = CliBackups.backup(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (3)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        String lost = WalFileName.segment(1, org.pgstrata.postgres.Lsn.parse(broken.get("startLsn").asText()).segmentNumber(16 << 20), 16 << 20);
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            Files.delete(s.filter(p -> p.getFileName().toString().equals(lost)).findFirst().orElseThrow());
        }

        JsonNode windows = CliBackups.run("info", "--json", "--repo", repo.toString());
        assertThat(windows).hasSize(1);
        JsonNode w = windows.get(0);
        assertThat(w.get("earliestLsn").asText()).as("%s", w).isEqualTo(usable.get("stopLsn").asText());
        assertThat(w.get("backups")).extracting(JsonNode::asText).containsExactly(usable.get("id").asText());
        assertThat(w.get("gaps").toString()).as("still a gap in the archive").contains(lost);

        CliBackups.Restored atEarliestLsn = CliBackups.restore(pg, repo, dir.resolve("lsn"), 17, "--target-lsn", w.get("earliestLsn").asText());
        assertThat(PgSupport.queryString(atEarliestLsn.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
        atEarliestLsn.cluster().stopImmediately();
        CliBackups.Restored atEarliestTime = CliBackups.restore(pg, repo, dir.resolve("time"), 17, "--target-time", w.get("earliestTime").asText());
        assertThat(PgSupport.queryString(atEarliestTime.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
    }
}
