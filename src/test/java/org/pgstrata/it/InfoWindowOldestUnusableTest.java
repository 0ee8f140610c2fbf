package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
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
        TwoFulls fulls = TwoFulls.of(pg, repo);
        String lost = fulls.olderOwnSegment();
        Files.delete(fulls.archived(repo).get(0));

        JsonNode windows = CliBackups.run("info", "--json", "--repo", repo.toString());
        assertThat(windows).hasSize(1);
        JsonNode w = windows.get(0);
        assertThat(w.get("earliestLsn").asText()).as("%s", w).isEqualTo(fulls.usable().get("stopLsn").asText());
        assertThat(w.get("backups")).extracting(JsonNode::asText).containsExactly(fulls.usable().get("id").asText());
        assertThat(w.get("gaps").toString()).as("still a gap in the archive").contains(lost);
        restoresAtTheWindowsStart(pg, dir, repo, w);
    }

    /**
     * Two fulls of a cluster that archives into {@code repo}: marks 1 before the older, 2 before
     * the newer, 3 after both; and the segment the older's own WAL begins in, which the tests take
     * from the archive or damage there.
     */
    record TwoFulls(JsonNode broken, JsonNode usable, String olderOwnSegment) {
        static TwoFulls of(PgSupport pg, Path repo) throws Exception {
            LocalCluster src = pg.archiving("src", repo);
            PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
            JsonNode broken = CliBackups.backup(repo, src, "full");
            PgSupport.sql(src, "INSERT INTO marks VALUES (2)", "SELECT pg_switch_wal()");
            JsonNode usable = CliBackups.backup(repo, src, "full");
            PgSupport.sql(src, "INSERT INTO marks VALUES (3)", "SELECT pg_switch_wal()");
            PitrTest.waitForArchive(src);
            return new TwoFulls(broken, usable,
                    WalFileName.segment(1, Lsn.parse(broken.get("startLsn").asText()).segmentNumber(16 << 20), 16 << 20));
        }

        /** The archived copies of the older's first own segment. */
        List<Path> archived(Path repo) throws Exception {
            try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
                List<Path> copies = s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().equals(olderOwnSegment)).toList();
                assertThat(copies).as("archived copies of " + olderOwnSegment).hasSize(1);
                return copies;
            }
        }
    }

    /** The window's earliest LSN and earliest time each restore, and hold marks 1 and 2: the newer full's point. */
    static void restoresAtTheWindowsStart(PgSupport pg, Path dir, Path repo, JsonNode window) throws Exception {
        CliBackups.Restored atEarliestLsn = CliBackups.restore(pg, repo, dir.resolve("lsn"), 17, "--target-lsn", window.get("earliestLsn").asText());
        assertThat(PgSupport.queryString(atEarliestLsn.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
        atEarliestLsn.cluster().stopImmediately();
        CliBackups.Restored atEarliestTime = CliBackups.restore(pg, repo, dir.resolve("time"), 17, "--target-time", window.get("earliestTime").asText());
        assertThat(PgSupport.queryString(atEarliestTime.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2");
    }
}
