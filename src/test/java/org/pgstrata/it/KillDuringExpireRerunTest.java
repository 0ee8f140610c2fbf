package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;

/**
 * expire killed between a backup's manifest and its objects: "run it again to finish", its help
 * says. The rerun has nothing left to plan (the backup is gone), and left the objects where they
 * were, a directory that verify called an incomplete backup "left by a failed run", until some
 * later backup removed it. The rerun finishes the removal.
 */
class KillDuringExpireRerunTest extends PgTest {

    @Test
    void expireKilledAfterAManifest_rerunRemovesWhatWasLeft() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.backupId(repo, source, "full");
        String second = CliBackups.backupId(repo, source, "full");

        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "backup-manifest-removed"), List.of(), 120,
                "expire", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(second);
        assertThat(repo.resolve("backup").resolve(first)).isDirectory();

        ChildCli.Finished again = ChildCli.run(Map.of(), List.of(), 120, "expire", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(again.exitCode()).as(again.output()).isZero();
        assertThat(repo.resolve("backup").resolve(first)).as("what the killed expire left").doesNotExist();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(second);
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
        assertThat(v.incomplete()).isEmpty();
        try (var files = Files.walk(repo.resolve("backup"))) {
            assertThat(files.filter(Files::isRegularFile).map(p -> repo.relativize(p).toString()))
                    .allMatch(k -> k.startsWith("backup/" + second + "/"));
        }
    }
}
