package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A restore by time must stop where PostgreSQL's commit times put the target, whatever the clock
 * of the machine that took the backups said: a backup's stop time is that machine's wall clock
 * (set back an hour here, as NTP steps a clock that ran fast, or a standby's host whose clock lags
 * the primary's), and a backup whose recorded stop time precedes the target can still hold
 * transactions that committed after it. Restored from that backup, the copy held them: a point
 * after the one named, reported as success.
 */
class TargetTimeClockStepBackTest extends PgTest {

    @Test
    void targetTime_isReachedByCommitTimesNotByTheBackupMachinesClock() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        String target;
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
            Db.execute(c, "INSERT INTO t SELECT generate_series(1, 10)");
        }
        BackupResult first = backup(repo, a, Clock.systemUTC());
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "INSERT INTO t VALUES (11)"); // a commit before the target, after the first backup
            Thread.sleep(50);
            target = Db.queryString(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
            Thread.sleep(50);
            Db.execute(c, "INSERT INTO t SELECT generate_series(12, 100)"); // after the target
        }
        // Taken on a machine whose clock is an hour behind: its stop time reads before the target
        BackupResult second = backup(repo, a, Clock.offset(Clock.systemUTC(), Duration.ofHours(-1)));
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "INSERT INTO t VALUES (101)");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);

        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("r"), null, true, LocalCluster.freePort(),
                null, 2, new RecoveryTarget(RecoveryTarget.Type.TIME, target, true, "current", "promote")));
        LocalCluster restored = pg.trackRestored(r.target(), 17);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(Db.queryString(c, "SELECT count(*) FROM t")).as("rows at " + target).isEqualTo("11");
        }
        assertThat(r.backupId()).as("the backup restored (%s and %s were there)", first.id(), second.id()).isEqualTo(first.id());
        restored.stopImmediately();
    }

    private static BackupResult backup(Path repo, LocalCluster src, Clock clock) {
        return new Pgstrata(clock, Progress.NONE, PgSupport.env()).backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src),
                BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
