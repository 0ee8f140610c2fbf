package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;

/**
 * 'delete --with-dependants' of the newest full of a reverse-delta repository, killed after its
 * first removal: every backup still in the repository restores (verify proves it). Removed newest
 * first, the newest reverse delta went first, and the older one that lies over it was left as a
 * backup whose chain is gone (exit 27 for its restore, verify failing). Run again, the delete
 * finishes.
 */
class KillDuringDeleteReverseChainTest extends PgTest {

    @Test
    void deleteWithDependants_killedMidway_leavesOnlyBackupsThatRestore() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'a' FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        String oldest = CliBackups.backupId(repo, source, "reverse");
        PgSupport.sql(source, "UPDATE t SET v = 'b' WHERE id % 3 = 0");
        String middle = CliBackups.backupId(repo, source, "reverse");
        PgSupport.sql(source, "UPDATE t SET v = 'c' WHERE id % 5 = 0");
        String newest = CliBackups.backupId(repo, source, "reverse");
        List<BackupInfo> before = PgSupport.facade().list(repo.toString());
        assertThat(before).extracting(BackupInfo::id).containsExactly(oldest, middle, newest);
        assertThat(before).extracting(BackupInfo::reference).containsExactly(middle, newest, null);

        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "delete-dependant-removed"), List.of(), 120,
                "delete", "--repo", repo.toString(), "--backup", newest, "--with-dependants");
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        List<BackupInfo> left = PgSupport.facade().list(repo.toString());
        assertThat(left).as("one backup removed").hasSize(2);
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("every backup left restores: %s", v).isTrue();

        ChildCli.Finished again = ChildCli.run(Map.of(), List.of(), 120, "delete", "--repo", repo.toString(), "--backup", newest,
                "--with-dependants");
        assertThat(again.exitCode()).as(again.output()).isZero();
        assertThat(PgSupport.facade().list(repo.toString())).isEmpty();
    }
}
