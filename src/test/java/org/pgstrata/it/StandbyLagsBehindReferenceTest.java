package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * An incremental on a standby whose replay has not reached the end of the primary's newest
 * backup, which it would build on: the standby lags (its replay paused here). It was refused
 * (rightly) as "the cluster is not a continuation of it; take a full backup", which sends the
 * user to a full backup for what waiting fixes. The refusal now says that the standby lags, and
 * what to wait for; once it has caught up, the same incremental succeeds.
 */
class StandbyLagsBehindReferenceTest extends PgTest {

    @Test
    void anIncrOnALaggingStandby_saysItLags_andSucceedsOnceItCaughtUp() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = pg.track(PgSupport.facade().clusterInit(dir.resolve("primary"), LocalCluster.freePort(), StandbyBackupTest.MAJOR,
                null, repo.toString()));
        primary.start();
        PgSupport.sql(primary, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g");
        LocalCluster standby = StandbyBackupTest.standbyOf(pg, primary, dir.resolve("standby"));
        PgSupport.sql(standby, "SELECT pg_wal_replay_pause()");

        PgSupport.sql(primary, "INSERT INTO t SELECT generate_series(10001, 20000)");
        String full = CliBackups.backupId(repo, primary, "full");
        CliRun refused = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", standby.pgdata().toString(), "--port",
                CliBackups.port(standby), "--type", "incr");
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ErrorCode.REFERENCE_MISMATCH.exitCode());
        assertThat(refused.errLines()).singleElement().asString().contains("before backup " + full + " ends")
                .contains("it lags behind the primary").contains("wait until pg_last_wal_replay_lsn()").doesNotContain("not a continuation");

        // Caught up (and past a checkpoint of the primary, so that its restartpoint lies after the full), it succeeds.
        PgSupport.sql(standby, "SELECT pg_wal_replay_resume()");
        PgSupport.sql(primary, "CHECKPOINT");
        String written = PgSupport.queryString(primary, "SELECT pg_current_wal_lsn()::text");
        for (int i = 0; i < 300 && PgSupport.queryString(standby, "SELECT (pg_last_wal_replay_lsn() < '" + written + "'::pg_lsn)::text").equals("true"); i++) {
            Thread.sleep(100);
        }
        CliRun incr = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", standby.pgdata().toString(), "--port",
                CliBackups.port(standby), "--type", "incr");
        assertThat(incr.exitCode()).as(incr.err()).isZero();
    }
}
