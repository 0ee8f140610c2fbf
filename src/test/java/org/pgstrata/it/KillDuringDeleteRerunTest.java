package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.Repository;

/**
 * delete killed between a backup's manifest and its objects ("an interrupted delete never leaves a
 * half backup that looks complete", its help says). Running the same delete again said the backup
 * did not exist (exit 17) and left its objects, which only a later backup or expire removed. The
 * rerun now finishes the removal, of a physical and of a logical backup alike.
 */
class KillDuringDeleteRerunTest extends PgTest {

    @Test
    void deleteKilledAfterTheManifest_rerunRemovesWhatWasLeft() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.backupId(repo, source, "full");
        String second = CliBackups.backupId(repo, source, "full");

        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "backup-manifest-removed"), List.of(), 120,
                "delete", "--repo", repo.toString(), "--backup", first);
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(repo.resolve("backup").resolve(first)).isDirectory();

        CliRun again = CliRun.run("delete", "--repo", repo.toString(), "--backup", first, "--json");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out()).contains(first);
        assertThat(repo.resolve("backup").resolve(first)).as("what the killed delete left").doesNotExist();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(second);
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
        assertThat(v.incomplete()).isEmpty();

        // Once it is all gone, the backup does not exist: said as before.
        assertThat(CliRun.run("delete", "--repo", repo.toString(), "--backup", first).exitCode()).isEqualTo(17);
    }

    /**
     * Killed after the block map and before the manifest: the backup's data is all there, and
     * verify called it damaged with the hint to take a new full backup, where running the delete
     * again is what finishes it; its problem line now says so.
     */
    @Test
    void deleteKilledAfterTheBlockMap_verifySaysToRunItAgain_andTheRerunFinishesIt() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.backupId(repo, source, "full");
        String second = CliBackups.backupId(repo, source, "full");

        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "backup-mark-removed"), List.of(), 120,
                "delete", "--repo", repo.toString(), "--backup", first);
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(repo.resolve("backup").resolve(first).resolve("manifest")).exists();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(15);
        assertThat(verify.out()).contains("backup " + first + ": its block map cannot be read").contains("run it again to finish it")
                .doesNotContain("backup " + second + ":");

        CliRun again = CliRun.run("delete", "--repo", repo.toString(), "--backup", first);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(repo.resolve("backup").resolve(first)).doesNotExist();
        CliRun clean = CliRun.run("verify", "--repo", repo.toString());
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
    }

    @Test
    void logicalDeleteInterruptedAfterTheManifest_rerunRemovesWhatWasLeft() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String second = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "backup-manifest-removed"), List.of(), 120,
                "delete", "--repo", repo.toString(), "--backup", first);
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(repo.resolve(Repository.logicalManifestKey(first))).doesNotExist();
        assertThat(repo.resolve("logical").resolve(first)).isDirectory();

        CliRun again = CliRun.run("delete", "--repo", repo.toString(), "--backup", first, "--json");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out()).contains(first);
        assertThat(repo.resolve("logical").resolve(first)).as("what the interrupted delete left").doesNotExist();
        assertThat(repo.resolve("logical").resolve(second)).isDirectory();
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
        assertThat(CliRun.run("delete", "--repo", repo.toString(), "--backup", first).exitCode()).isEqualTo(17);
    }
}
