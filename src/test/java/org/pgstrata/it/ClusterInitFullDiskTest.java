package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A new cluster (cluster init, compare's and a logical drill's scratch clusters) on a disk that
 * fills: an I/O error (exit 22) that names the lack of room and says to free space, not a failed
 * server (19) whose hint blames permissions or the binaries; with room, the same command works.
 */
class ClusterInitFullDiskTest extends PgTest {

    @Test
    void initdbOnAFullDisk_isAnIoError() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir.resolve("disk"), 10)) {
            String port = Integer.toString(LocalCluster.freePort());
            CliRun init = CliRun.run("cluster", "init", "-q", "-D", disk.path().resolve("c").toString(), "--port", port);
            assertThat(init.errLines()).as(init.err()).singleElement().asString().startsWith("pgstrata: error: ")
                    .contains("No space left on device").contains(disk.path().toString()).contains("; hint: free space");
            assertThat(init.exitCode()).as(init.err()).isEqualTo(22);

            CliRun work = CliRun.run("compare", "-q", "--rows", "1000", "--strategies", "full", "--work-dir", disk.path().resolve("w").toString());
            assertThat(work.errLines()).as(work.err()).filteredOn(l -> l.startsWith("pgstrata: error: ")).singleElement().asString()
                    .contains("No space left on device");
            assertThat(work.exitCode()).as(work.err()).isEqualTo(22);

            disk.resize(100);
            CliRun again = CliRun.run("cluster", "init", "-q", "-D", disk.path().resolve("c").toString(), "--port", port);
            assertThat(again.exitCode()).as(again.err()).isZero();
        }
    }
}
