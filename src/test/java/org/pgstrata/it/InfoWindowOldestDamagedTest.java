package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;

/**
 * A segment of the oldest backup's own WAL (its start to its consistency point) held in the
 * archive but damaged: that backup restores to no point (restore refuses it), yet info began the
 * window at its consistency point, a point no restore reaches; only a segment missing from the
 * archive moved the window on. The window now begins at the oldest backup whose own WAL is present
 * and intact, the damaged segment is listed (gaps, damaged), and one warning names the backup that
 * cannot restore (JSON: unrestorable); info exits 0.
 */
class InfoWindowOldestDamagedTest extends PgTest {

    @Test
    void theOldestBackupWithADamagedSegmentOfItsOwnWal_doesNotBeginTheWindow() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        JsonNode broken = CliBackups.backup(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)", "SELECT pg_switch_wal()");
        JsonNode usable = CliBackups.backup(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (3)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        String damaged = WalFileName.segment(1, Lsn.parse(broken.get("startLsn").asText()).segmentNumber(16 << 20), 16 << 20);
        List<Path> victims;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            victims = s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().equals(damaged)).toList();
        }
        assertThat(victims).as("archived copies of " + damaged).hasSize(1);
        ManifestTrustTest.flipAByte(victims.get(0));
        String brokenId = broken.get("id").asText();

        CliRun info = CliRun.run("info", "--repo", repo.toString());
        assertThat(info.exitCode()).as(info.out() + info.err()).isZero();
        assertThat(info.err().lines().filter(l -> l.contains(brokenId)).toList()).as(info.err()).singleElement().asString()
                .startsWith("pgstrata: warning: ").contains(damaged).contains("cannot restore");

        CliRun json = CliRun.run("info", "--json", "--repo", repo.toString());
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode windows = new ObjectMapper().readTree(json.out());
        assertThat(windows).hasSize(1);
        JsonNode w = windows.get(0);
        assertThat(w.get("earliestLsn").asText()).as("%s", w).isEqualTo(usable.get("stopLsn").asText());
        assertThat(w.get("backups")).extracting(JsonNode::asText).containsExactly(usable.get("id").asText());
        assertThat(w.get("unrestorable")).as("%s", w).singleElement().satisfies(u -> {
            assertThat(u.get("backup").asText()).isEqualTo(brokenId);
            assertThat(u.get("segment").asText()).isEqualTo(damaged);
            assertThat(u.get("problem").asText()).isEqualTo("damaged");
        });
        assertThat(w.get("damaged")).as("%s", w).extracting(JsonNode::asText).containsExactly(damaged);
        assertThat(w.get("gaps")).as("%s", w).extracting(JsonNode::asText).contains(damaged);

        CliBackups.Restored atEarliestLsn = CliBackups.restore(pg, repo, dir.resolve("lsn"), 17, "--target-lsn", w.get("earliestLsn").asText());
        assertThat(PgSupport.queryString(atEarliestLsn.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
        atEarliestLsn.cluster().stopImmediately();
        CliBackups.Restored atEarliestTime = CliBackups.restore(pg, repo, dir.resolve("time"), 17, "--target-time", w.get("earliestTime").asText());
        assertThat(PgSupport.queryString(atEarliestTime.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
    }
}
