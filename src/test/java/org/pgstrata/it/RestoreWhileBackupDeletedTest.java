package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A restore takes no lock: a delete (or expire) may remove its backup, objects and all, after the
 * restore checked the chain and before it read the files. The restore then said the backup "is
 * damaged" (exit 15, corrupt) and sent the user to verify, which finds a sound repository. It says
 * instead that the backup was removed while it ran (exit 17, not found), and leaves nothing.
 */
class RestoreWhileBackupDeletedTest extends PgTest {

    @Test
    void backupDeletedWhileRestoreReadsIt_isSaidSo_notCalledDamaged() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.backupId(repo, source, "full");
        String second = CliBackups.backupId(repo, source, "full");

        Path copy = dir.resolve("copy");
        // Once the restore has checked its chain, the backup is deleted.
        ChildCli.Resumed<CliRun> restore = ChildCli.pausedAt("restore-checked", dir.resolve("restore.log"),
                () -> CliRun.run("delete", "--repo", repo.toString(), "--backup", first, "-q"), 120,
                "restore", "--repo", repo.toString(), "--backup", first, "--to", copy.toString());
        assertThat(restore.meanwhile().exitCode()).as(restore.meanwhile().err()).isZero();
        String out = restore.output();
        assertThat(restore.exitCode()).as(out).isEqualTo(17);
        assertThat(out).contains("was removed (by delete or expire) while the restore").doesNotContain("damaged");
        assertThat(!Files.exists(copy) || isEmpty(copy)).as("nothing left in %s", copy).isTrue();

        // The repository is sound: what the restore would have blamed is not there.
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(second);
    }

    private static boolean isEmpty(Path p) throws java.io.IOException {
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
