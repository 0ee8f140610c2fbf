package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
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
        ChildCli.Resumed<?> drill = ChildCli.pausedAt("drill-checks", dir.resolve("drill.log"),
                () -> PgSupport.facade().delete(repo.toString(), second, false), 180,
                "drill", "--repo", repo.toString(), "--all", "--scratch-dir", dir.resolve("scratch").toString());
        String out = drill.output();
        assertThat(drill.exitCode()).as(out).isZero();
        assertThat(out).contains("drill of backup " + first + " PASSED").contains("drill of backup " + third + " PASSED")
                .contains("backup " + second + " was removed (by delete or expire) before its drill could be recorded; skipped");
    }
}
