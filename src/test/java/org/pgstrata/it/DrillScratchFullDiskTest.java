package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A drill (or a restore with --start) whose scratch disk takes the restored files but not the WAL
 * that recovery fetches: the disk is full, the backup is sound. One line naming the lack of room,
 * exit 22, and no failed drill recorded against the backup (which status would report as CRITICAL
 * and whose hint says not to rely on the backup); with room, the same drill passes.
 */
class DrillScratchFullDiskTest extends PgTest {

    @Test
    void fullScratchDisk_isAnIoError_notAFailedDrillOfTheBackup() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100000) g", "CHECKPOINT");
        PitrTest.waitForArchive(source);
        CliBackups.backupId(repo, source, "full");
        try (SmallDisk scratch = SmallDisk.mount(dir.resolve("scratch"), 200)) {
            long before = scratch.room();
            CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--to", scratch.path().resolve("measure").toString());
            long restored = before - scratch.room();
            PgSupport.deleteTree(scratch.path().resolve("measure"));

            // Room for the files, not for the 16 MiB segment recovery fetches into pg_wal
            scratch.leave(restored + (2 << 20));
            CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--scratch-dir", scratch.path().resolve("drills").toString());
            assertThat(drill.errLines()).as(drill.err()).singleElement().asString()
                    .startsWith("pgstrata: error: ").contains("No space left on device").contains(scratch.path().toString())
                    .doesNotContain("do not rely on this backup");
            assertThat(drill.exitCode()).as(drill.err()).isEqualTo(22);
            try (var left = java.nio.file.Files.list(scratch.path().resolve("drills"))) {
                assertThat(left.filter(p -> p.getFileName().toString().startsWith("drill-")).toList()).as("the drill's copy is removed").isEmpty();
            }
            CliRun list = CliBackups.ok("list", "--repo", repo.toString());
            assertThat(list.out()).as("no drill is recorded against the backup").doesNotContain("failed");

            CliRun start = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", scratch.path().resolve("started").toString(),
                    "--start", "--port", Integer.toString(LocalCluster.freePort()));
            assertThat(start.errLines()).as(start.err()).singleElement().asString().contains("No space left on device");
            assertThat(start.exitCode()).as(start.err()).isEqualTo(22);
            PgSupport.deleteTree(scratch.path().resolve("started"));

            scratch.free();
            CliRun again = CliRun.run("drill", "-q", "--repo", repo.toString(), "--scratch-dir", scratch.path().resolve("drills").toString());
            assertThat(again.exitCode()).as(again.err() + again.out()).isZero();
        }
    }
}
