package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup whose manifest is damaged is what a drill is there to find: drill --all must not skip it
 * and exit 0, and a drill of it is a failed drill (exit 49, recorded), as a damaged data file is.
 */
class DrillDamagedManifestTest extends PgTest {
    @Test
    void aDamagedManifest_failsTheDrill_andDrillAllDoesNotSkipIt() throws Exception {
        LocalCluster a = pg.start("a", 17);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 100)");
        Path repo = dir.resolve("repo");
        String damaged = PgSupport.fullBackup(repo, a).id();
        String intact = PgSupport.fullBackup(repo, a).id();
        try (RandomAccessFile f = new RandomAccessFile(repo.resolve("backup").resolve(damaged).resolve("manifest").toFile(), "rw")) {
            f.seek(100);
            f.write("garbage".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        String scratch = dir.resolve("scratch").toString();

        CliRun all = CliRun.withEnv(PgSupport.env(), "drill", "-q", "--all", "--json", "--repo", repo.toString(), "--scratch-dir", scratch);
        assertThat(all.exitCode()).as("exit code; it said: %s", all.err()).isEqualTo(ErrorCode.DRILL_FAILED.exitCode());
        JsonNode records = new ObjectMapper().readTree(all.out());
        assertThat(records).hasSize(2);
        for (JsonNode r : records) {
            String id = r.get("backupId").asText();
            assertThat(r.get("result").asText()).as("drill of %s", id).isEqualTo(id.equals(damaged) ? "failed" : "passed");
        }
        assertThat(all.err()).contains("the drill of backup " + damaged + " failed: manifest: ");
        try (var records2 = Files.list(repo.resolve("drill").resolve(damaged))) {
            assertThat(records2.map(p -> p.getFileName().toString()).toList()).singleElement().asString().endsWith("-failed");
        }
        assertThat(CliRun.withEnv(PgSupport.env(), "status", "--repo", repo.toString()).out()).startsWith("PGSTRATA CRITICAL - ")
                .contains("the newest drill, of " + damaged);
        assertThat(intact).isNotEqualTo(damaged);
    }
}
