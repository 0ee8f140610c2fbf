package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A restore that fails midway removes the directories it made for --tablespace-map: NEW, and the
 * parents of NEW that did not exist before (docs/physical.md: "removes what it wrote into the
 * mapped directories, and those it made").
 */
class TablespaceMapCleanUpTest extends PgTest {

    @Test
    void aFailedRestore_removesTheParentsItMadeForAMappedDirectory() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String oid = TablespaceRestoreTest.tablespaceWithATable(source, Files.createDirectory(dir.resolve("elsewhere")));
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, source, "full");
        TablespaceRestoreTest.damageLargestFile(repo);

        Path target = dir.resolve("restored");
        Path made = dir.resolve("new-parent");
        var failed = org.pgstrata.cli.CliRun.run("restore", "--repo", repo.toString(), "--backup", full, "--to", target.toString(),
                "--tablespace-map", oid + "=" + made.resolve("a").resolve("ts"), "--jobs", "1");
        assertThat(failed.exitCode()).as(failed.err()).isEqualTo(15);
        assertThat(target).doesNotExist();
        assertThat(made).as("a parent the restore made for the mapped directory").doesNotExist();
    }
}
