package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A logical backup's drill whose scratch disk takes the scratch cluster but not the restored
 * tables: the disk is full, the backup is sound. One line, exit 22, no failed drill recorded
 * against the backup; with room, the same drill passes.
 */
class DrillLogicalScratchFullDiskTest extends PgTest {

    @Test
    void fullScratchDisk_isAnIoError_notAFailedDrillOfTheLogicalBackup() throws Exception {
        LocalCluster source = pg.start("source", 15); // the system's pg_dump is 15
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) || md5((g*7)::text) FROM generate_series(1, 300000) g");
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "postgres", "full").get("id").asText();
        try (SmallDisk scratch = SmallDisk.mount(dir.resolve("scratch"), 300)) {
            scratch.leave(55L << 20); // initdb fits, the table does not
            CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--backup", id, "--scratch-dir",
                    scratch.path().resolve("drills").toString());
            assertThat(drill.errLines()).as(drill.err()).filteredOn(l -> l.startsWith("pgstrata: error: ")).singleElement().asString()
                    .contains("No space left on device").contains(scratch.path().toString()).doesNotContain("do not rely on this backup");
            assertThat(drill.exitCode()).as(drill.err()).isEqualTo(22);
            CliRun list = CliBackups.ok("list", "--repo", repo.toString());
            assertThat(list.out()).as("no drill is recorded against the backup").doesNotContain("failed");

            scratch.free();
            CliRun again = CliRun.run("drill", "-q", "--repo", repo.toString(), "--backup", id, "--scratch-dir",
                    scratch.path().resolve("drills").toString());
            assertThat(again.exitCode()).as(again.err() + again.out()).isZero();
        }
    }
}
