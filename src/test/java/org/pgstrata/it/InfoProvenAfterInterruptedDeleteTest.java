package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A delete (or expire) stopped after a backup's manifest went, before its drill records did,
 * leaves a directory without a manifest: the backup no longer exists, and list says so. info
 * counted every backup directory as present and went on saying "last proven restorable:" that
 * backup, which no restore can choose any more.
 */
class InfoProvenAfterInterruptedDeleteTest extends PgTest {

    @Test
    void aBackupWhoseDeleteWasInterrupted_isNotLastProvenInInfo() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, source, "full");
        String drilled = CliBackups.backupId(repo, source, "full");
        CliBackups.ok("drill", "-q", "--repo", repo.toString(), "--backup", drilled);
        assertThat(CliBackups.ok("info", "--repo", repo.toString()).out()).contains("last proven restorable: " + drilled);

        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "backup-manifest-removed"), List.of(), 120,
                "delete", "--repo", repo.toString(), "--backup", drilled);
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(repo.resolve("backup").resolve(drilled)).as("what the killed delete left").isDirectory();

        String list = CliBackups.ok("list", "--repo", repo.toString()).out();
        assertThat(list).contains("last proven restorable: never");
        assertThat(CliBackups.ok("info", "--repo", repo.toString()).out()).as("info, as list")
                .doesNotContain(drilled).contains("last proven restorable: never");
    }
}
