package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * {@code drill --all} while expire (or delete) removes one of the backups it listed: it stopped at
 * that backup with exit 17, and the backups after it were never drilled. A backup removed since
 * the list was taken is now skipped with a warning, and every other one still gets its drill.
 */
class DrillAllBackupRemovedTest extends PgTest {
    @Test
    void aBackupRemovedDuringDrillAll_isSkipped_andTheOthersAreDrilled() throws Exception {
        LocalCluster a = pg.start("a", 17);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, note text)", "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 1000) i");
        Path repo = dir.resolve("repo");
        String first = PgSupport.fullBackup(repo, a).id();
        PgSupport.sql(a, "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1001, 2000) i");
        String second = PgSupport.fullBackup(repo, a).id();
        PgSupport.sql(a, "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(2001, 3000) i");
        String third = PgSupport.fullBackup(repo, a).id();

        // The drill of the first backup pauses at its checks; meanwhile the second one goes.
        Path log = dir.resolve("drill.log");
        Path resume = dir.resolve("resume");
        Process drill = ChildCli.startLogged(Map.of("PGSTRATA_TEST_PAUSE_AT", "drill-checks", "PGSTRATA_TEST_RESUME_FILE", resume.toString()), log,
                "drill", "--repo", repo.toString(), "--all", "--scratch-dir", dir.resolve("scratch").toString());
        try {
            ChildCli.awaitInLog(drill, log, "test hook: pausing at drill-checks", 120);
            PgSupport.facade().delete(repo.toString(), second, false);
            Files.createFile(resume);
            assertThat(drill.waitFor(180, TimeUnit.SECONDS)).isTrue();
        } finally {
            drill.destroyForcibly();
        }
        String out = Files.readString(log);
        assertThat(drill.exitValue()).as(out).isZero();
        assertThat(out).contains("drill of backup " + first + " PASSED").contains("drill of backup " + third + " PASSED")
                .contains("backup " + second + " was removed (by delete or expire) before its drill could be recorded; skipped");
    }
}
