package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;

/**
 * An LSN target inside the archive's last segment but past its last record (the rest of a segment
 * that pg_switch_wal ended): recovery runs out of WAL before any record reaches the target, and
 * PostgreSQL stops with "recovery ended before configured recovery target was reached". restore
 * --start said so only in the server log: it failed as "the restored server stopped during
 * recovery" (exit 19) with the log's last lines, which on PostgreSQL 17 come after that line; a
 * restore without --start said nothing (exit 0), and the copy failed at its first start. Such a
 * target is now refused before anything is written (exit 24).
 */
class TargetPastLastRecordTest extends PgTest {

    @ParameterizedTest
    @ValueSource(strings = {"promote", "shutdown"})
    void lsnTargetAfterTheLastArchivedRecord_isReportedUnreachable(String action) throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE t (id int)");
        }
        PgSupport.fullBackup(repo, a);
        Lsn switched;
        Lsn beforeSwitch; // the switch record starts here or later: the last record, which a target here reaches
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "INSERT INTO t VALUES (1)");
            beforeSwitch = Lsn.parse(Db.queryString(c, "SELECT pg_current_wal_insert_lsn()::text"));
            switched = Lsn.parse(Db.queryString(c, "SELECT pg_switch_wal()::text"));
        }
        PitrTest.waitForArchive(a);
        a.stop();
        // Half way through the rest of the switched segment, where no record is
        long segment = 16L * 1024 * 1024;
        Lsn target = new Lsn(switched.value() + (segment - switched.value() % segment) / 2);

        // With --start and without (which said nothing and left a copy that failed at its first start): refused before anything is
        // written, naming the last record
        for (boolean start : new boolean[] {true, false}) {
            Path to = dir.resolve("r-" + start);
            assertThatThrownBy(() -> PgSupport.facade().restore(new RestoreRequest(repo.toString(), to, null, start,
                    LocalCluster.freePort(), null, 2, new RecoveryTarget(RecoveryTarget.Type.LSN, target.toString(), true, "latest", action))))
                    .isInstanceOf(PgstrataException.class)
                    .satisfies(e -> assertThat(((PgstrataException) e).code()).as(e.getMessage()).isEqualTo(ErrorCode.TARGET_UNREACHABLE))
                    .hasMessageContaining("cannot restore to LSN " + target + ": it is after the last record of the archived WAL")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            assertThat(to).doesNotExist();
        }
        // A target that the last record (the switch) reaches is taken: the copy recovers to it (not before it) and, promoted, holds
        // the row inserted before it
        Path ok = dir.resolve("ok");
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), ok, null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.LSN, beforeSwitch.toString(), true, "latest", action)));
        LocalCluster copy = pg.trackRestored(ok, 17);
        assertThat(r.stoppedAtLsn()).as("%s", r).isNotNull();
        assertThat(Lsn.parse(r.stoppedAtLsn()).compareTo(beforeSwitch)).as("%s", r).isGreaterThanOrEqualTo(0);
        if (action.equals("shutdown")) {
            assertThat(r.state()).as("%s", r).isEqualTo("shut down");
            assertThat(copy.postmasterAlive()).isFalse();
        } else {
            assertThat(r.state()).as("%s", r).isEqualTo("read-write");
            assertThat(PgSupport.queryString(copy, "SELECT count(*) FROM t WHERE id = 1")).isEqualTo("1");
        }
    }
}
