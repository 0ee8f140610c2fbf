package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;

/**
 * The newest full's own WAL (its start to stop, needed to restore it) lost a segment from the
 * archive: that full restores to no point, yet {@code expire --retain-full 1} counted it and
 * removed the older full, the only backup that still restored. A full counts only when the
 * repository holds its own WAL; one that does not is kept but not counted, with a warning.
 */
class ExpireUncountedFullTest extends PgTest {

    @Test
    void aNewestFullWithoutItsOwnWal_isNotCounted_andTheOlderFullStaysAndRestores() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        BackupResult older = PgSupport.fullBackup(repo, src);
        Map<String, ContentChecksum.Result> atOlder = ClusterContent.of(src);
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 200, 50, 1);
        }
        BackupResult newest = PgSupport.fullBackup(repo, src);
        PgSupport.sql(src, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        String lost = WalFileName.segment(1, Lsn.parse(newest.startLsn()).segmentNumber(16L * 1024 * 1024), 16L * 1024 * 1024);
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            Files.delete(s.filter(p -> p.getFileName().toString().equals(lost)).findFirst().orElseThrow());
        }

        CliRun dry = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "--dry-run", "--json");
        assertThat(dry.exitCode()).as(dry.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(dry.out());
        assertThat(j.get("removed")).as(dry.out()).isEmpty();
        assertThat(j.get("kept").findValuesAsText("id")).containsExactly(older.id(), newest.id());
        assertThat(j.get("warnings").toString()).contains(newest.id()).contains(lost);
        assertThat(dry.err().lines().filter(l -> l.startsWith("pgstrata: warning:")).toList()).as(dry.err()).singleElement().asString()
                .contains(newest.id()).contains(lost).contains("not counted");

        CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(expire.out()).contains("removed 0 backup(s)");
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(older.id(), newest.id());

        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored"), 17, "--backup", older.id()).cluster();
        assertThat(ClusterContent.of(restored)).as("content of %s", older.id()).isEqualTo(atOlder);
    }
}
