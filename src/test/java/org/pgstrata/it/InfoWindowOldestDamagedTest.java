package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;

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
        InfoWindowOldestUnusableTest.TwoFulls fulls = InfoWindowOldestUnusableTest.TwoFulls.of(pg, repo);
        JsonNode broken = fulls.broken();
        JsonNode usable = fulls.usable();
        String damaged = fulls.olderOwnSegment();
        ManifestTrustTest.flipAByte(fulls.archived(repo).get(0));
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

        // status called the damaged segment missing, and so sent the user to look for a file that is there
        CliRun status = CliRun.run("status", "--repo", repo.toString());
        assertThat(status.exitCode()).as(status.out() + status.err()).isEqualTo(2);
        assertThat(status.out().lines()).as(status.out()).anySatisfy(l -> assertThat(l).startsWith("critical: archive-gaps: ")
                .contains("missing from the archive or damaged").contains(damaged + " (timeline 1, damaged)"));

        InfoWindowOldestUnusableTest.restoresAtTheWindowsStart(pg, dir, repo, w);
    }
}
