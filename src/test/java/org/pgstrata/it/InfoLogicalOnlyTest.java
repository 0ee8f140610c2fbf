package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.DrillRecords;
import org.pgstrata.manifest.Repository;

/**
 * info on a repository whose only backups are logical: it has something to restore (status and
 * list say so), so info must not say it holds no backups, and it names the last proven one.
 */
class InfoLogicalOnlyTest extends PgTest {
    @Test
    void aRepositoryOfLogicalBackupsOnly_isNotCalledEmpty_andShowsWhatWasProven() throws Exception {
        LocalCluster a = pg.start("a", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 10)");
        String id = CliBackups.logicalBackup(repo, a, "postgres", "full").get("id").asText();
        try (Repository r = Repository.open(repo.toString())) {
            DrillRecords.write(r.storage(), new DrillRecord(DrillRecord.FORMAT_VERSION, id, "logical", "the backup's snapshot",
                    Instant.now().toString(), 1.0, DrillRecord.PASSED, List.of("amcheck on every table"), List.of(), "17.7", "0/3000000",
                    1, 1, 10, 100, "test-host"));
        }

        CliRun info = CliBackups.ok("info", "--repo", repo.toString());
        assertThat(info.out()).doesNotContain("no backups").contains("1 logical backup(s)")
                .contains("last proven restorable: " + id + " at ");
        // The JSON stays the array of recovery windows that scripts read: none without a physical backup.
        assertThat(CliBackups.ok("info", "--repo", repo.toString(), "--json").out().strip()).isEqualTo("[ ]");
    }
}
