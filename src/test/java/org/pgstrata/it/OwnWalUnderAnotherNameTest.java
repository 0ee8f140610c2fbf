package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;

/**
 * A backup's own WAL segment replaced by another segment's content under its name (a copy tool,
 * a restore of the archive from the wrong place): its checksum is valid, so the check of a
 * backup's own WAL that restore makes before it writes anything, and verify repeats, passed.
 * verify named the archive's problem but rejected no backup, and restore wrote every file and
 * exited 0; only PostgreSQL's recovery, through {@code wal get}, found the segment and stopped.
 * The check now reads the segment's header as {@code wal get} does: verify names the backup and
 * restore refuses it (exit 15) before writing, while the backup before it still restores.
 */
class OwnWalUnderAnotherNameTest extends PgTest {

    @Test
    void aBackupsOwnSegmentHoldingTheNextSegment_isRejectedByVerifyAndRestore_beforeAnythingIsWritten() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int PRIMARY KEY)", "INSERT INTO marks VALUES (1)");
        JsonNode older = CliBackups.backup(repo, src, "full");
        Map<String, ContentChecksum.Result> atOlder = ClusterContent.of(src);
        // Megabytes of WAL between the full's stop and the incr's start: recovery of the full reads ahead of its stop
        // (the prefetcher, across a segment switch), and must not reach the incr's segment.
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)", "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g");
        JsonNode newest = CliBackups.backup(repo, src, "incr");
        PgSupport.sql(src, "INSERT INTO marks VALUES (3)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        String newestId = newest.get("id").asText();
        long segment = Lsn.parse(newest.get("startLsn").asText()).segmentNumber(16 << 20);
        String own = WalFileName.segment(1, segment, 16 << 20);
        String next = WalFileName.segment(1, segment + 1, 16 << 20);
        Path ownPath;
        Path nextPath;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            ownPath = s.filter(p -> p.getFileName().toString().equals(own)).findFirst().orElseThrow();
        }
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            nextPath = s.filter(p -> p.getFileName().toString().equals(next)).findFirst().orElseThrow();
        }
        Files.copy(nextPath, ownPath, StandardCopyOption.REPLACE_EXISTING);

        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.rejected()).as("%s", v.problems()).containsExactly(newestId);
        assertThat(v.problems()).anyMatch(p -> p.contains(newestId) && p.contains(own));

        Path refused = dir.resolve("refused");
        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", newestId, "--to", refused.toString());
        assertThat(restore.exitCode()).as(restore.out() + restore.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(restore.err()).contains(own).contains("nothing was written");
        assertThat(refused).doesNotExist();

        CliBackups.Restored restored = CliBackups.restore(pg, repo, dir.resolve("older"), 17, "--backup", older.get("id").asText());
        assertThat(ClusterContent.of(restored.cluster())).isEqualTo(atOlder);
        assertThat(ClusterContent.amcheck(restored.cluster())).isEmpty();
    }
}
