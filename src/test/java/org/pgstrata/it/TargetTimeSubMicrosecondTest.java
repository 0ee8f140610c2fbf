package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * PostgreSQL's commit times are in microseconds; a --target-time may name nanoseconds. The time
 * written for PostgreSQL was cut to microseconds, so an exclusive target 100 ns after a commit
 * became the commit's own time, and recovery stopped before that commit, which precedes the time
 * named: one transaction short, with exit 0 and the plan naming the next one as the stop.
 */
class TargetTimeSubMicrosecondTest extends PgTest {

    @Test
    void exclusiveTargetJustAfterACommit_keepsThatCommit() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "ALTER SYSTEM SET track_commit_timestamp = on");
        }
        a.stop();
        a.start();
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
            Db.execute(c, "INSERT INTO t SELECT generate_series(1, 10)");
        }
        PgSupport.fullBackup(repo, a);
        Instant committed;
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "INSERT INTO t VALUES (11)");
            committed = Instant.parse(Db.queryString(c, "SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC',"
                    + " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM t WHERE id = 11"));
            Thread.sleep(20);
            Db.execute(c, "INSERT INTO t VALUES (12)");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);

        String target = committed.plusNanos(100).toString(); // after row 11's commit, before row 12's
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("r"), null, true, LocalCluster.freePort(),
                null, 2, new RecoveryTarget(RecoveryTarget.Type.TIME, target, false, "latest", "promote")));
        LocalCluster restored = pg.trackRestored(r.target(), 17);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(Db.queryString(c, "SELECT max(id) FROM t")).as("rows before " + target + " (exclusive); " + r.reason()).isEqualTo("11");
        }
        restored.stopImmediately();
    }
}
