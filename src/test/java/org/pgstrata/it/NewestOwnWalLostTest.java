package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;

/**
 * The newest backup's own WAL (its start to its consistency point) lost at the archive's end:
 * no segment follows it, so its loss is no gap between two others. verify said "ok ... 0
 * problems" and info listed the backup in the window, while restore refused it at once (exit 25).
 * verify now names the backup (exit 15), info leaves it out of the window and names it among the
 * unrestorable, status counts the segment as missing (critical) and the backup before it as the
 * newest, and that backup still restores with its content.
 */
class NewestOwnWalLostTest extends PgTest {

    @Test
    void theNewestBackupsOwnSegment_lostAtTheArchivesEnd_isNamedByVerifyAndInfo() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        JsonNode older = CliBackups.backup(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)");
        JsonNode newest = CliBackups.backup(repo, src, "incr");
        PitrTest.waitForArchive(src);
        String olderId = older.get("id").asText();
        String newestId = newest.get("id").asText();
        String own = WalFileName.segment(1, Lsn.parse(newest.get("startLsn").asText()).segmentNumber(16 << 20), 16 << 20);
        List<Path> segments;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            segments = s.filter(p -> Files.isRegularFile(p) && WalFileName.isSegment(p.getFileName().toString())).sorted(
                    java.util.Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        assertThat(segments.get(segments.size() - 1).getFileName().toString()).as("the archive's last segment").isEqualTo(own);
        Files.delete(segments.get(segments.size() - 1));

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(15);
        assertThat(verify.out() + verify.err()).contains(newestId).contains(own);

        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("refused").toString());
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(ErrorCode.WAL_MISSING.exitCode());

        CliRun info = CliRun.run("info", "--repo", repo.toString());
        assertThat(info.exitCode()).as(info.out() + info.err()).isZero();
        assertThat(info.err().lines().filter(l -> l.contains(newestId)).toList()).as(info.err()).singleElement().asString()
                .startsWith("pgstrata: warning: ").contains(own).contains("cannot restore");
        CliRun json = CliRun.run("info", "--json", "--repo", repo.toString());
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode windows = new ObjectMapper().readTree(json.out());
        assertThat(windows).hasSize(1);
        JsonNode w = windows.get(0);
        assertThat(w.get("backups")).as("%s", w).extracting(JsonNode::asText).containsExactly(olderId);
        assertThat(w.get("unrestorable")).as("%s", w).singleElement().satisfies(u -> {
            assertThat(u.get("backup").asText()).isEqualTo(newestId);
            assertThat(u.get("segment").asText()).isEqualTo(own);
            assertThat(u.get("problem").asText()).isEqualTo("missing");
        });

        // status, the monitoring check, said "ok" for the newest backup's age and for the archive: the backup it counted does
        // not restore, and the segment it lacks is missing from the archive.
        CliRun status = CliRun.run("status", "--repo", repo.toString());
        assertThat(status.exitCode()).as(status.out() + status.err()).isEqualTo(2);
        assertThat(status.out().lines()).as(status.out()).anySatisfy(l -> assertThat(l).startsWith("critical: archive-gaps: ")
                .contains(own).contains(newestId));
        assertThat(status.out().lines()).as(status.out()).anySatisfy(l -> assertThat(l).startsWith("ok: backup-age: ").contains(olderId)
                .contains(newestId + ", newer, cannot be restored"));
        // With the age unchecked, the newer backup that does not restore is named all the same.
        CliRun unchecked = CliRun.run("status", "--max-backup-age", "0", "--repo", repo.toString());
        assertThat(unchecked.out().lines()).as(unchecked.out()).anySatisfy(l -> assertThat(l).startsWith("skipped: backup-age: ")
                .contains(olderId).contains(newestId + ", newer, cannot be restored"));

        CliBackups.Restored atOlder = CliBackups.restore(pg, repo, dir.resolve("older"), 17, "--backup", olderId);
        assertThat(PgSupport.queryString(atOlder.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1");
    }
}
