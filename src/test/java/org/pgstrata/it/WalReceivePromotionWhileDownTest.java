package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.wal.WalReceiver;

/**
 * {@code wal receive} on a standby that was promoted while the receiver was down (or behind):
 * the whole segments of the old timeline that its slot still kept are archived before it goes on
 * on the new timeline. Before, the receiver jumped to the new timeline's first segment and
 * reported everything up to it as flushed: the old timeline's segments, which only the slot kept,
 * never reached the archive, and the server was free to remove them.
 */
class WalReceivePromotionWhileDownTest extends PgTest {

    @Test
    void segmentsOfTheOldTimelineTheSlotKept_areArchived_beforeTheNewTimeline() throws Exception {
        LocalCluster primary = pg.start("primary", 17);
        LocalCluster standby = StandbyBackupTest.standbyOf(pg, primary, dir.resolve("standby"));
        Path repo = dir.resolve("repo");
        PgSupport.facade().repoInit(repo.toString(), standby.pgdata());
        long segSize = Long.parseLong(PgSupport.queryString(standby, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"));
        Lsn reserved;
        try (Connection s = PgSupport.connect(standby)) {
            Db.execute(s, "SELECT pg_create_physical_replication_slot('receiver', true)");
            reserved = Lsn.parse(Db.queryString(s, "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'receiver'"));
        }
        // The receiver is down: the standby replays two more segments, then is promoted.
        Lsn written;
        try (Connection p = PgSupport.connect(primary)) {
            for (int i = 0; i < 2; i++) {
                Db.execute(p, "CREATE TABLE t" + i + " AS SELECT 1 AS x"); // a switch after no WAL at all would not switch
                Db.execute(p, "SELECT pg_switch_wal()");
            }
            written = Lsn.parse(Db.queryString(p, "SELECT pg_current_wal_lsn()::text"));
        }
        for (int i = 0; i < 300 && Lsn.parse(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn()::text")).isBefore(written); i++) {
            Thread.sleep(100);
        }
        PgSupport.sql(standby, "SELECT pg_promote(true)");
        String stopAt;
        try (Connection s = PgSupport.connect(standby)) {
            stopAt = Db.queryString(s, "SELECT pg_current_wal_lsn()::text");
            Db.execute(s, "SELECT pg_switch_wal()");
        }

        WalReceiver.Result r = new WalReceiver(Progress.NONE, () -> false).run(new WalReceiver.Options(repo.toString(),
                PgSupport.conn(standby), "receiver", Lsn.parse(stopAt), Compression.ZSTD));
        assertThat(r.timeline()).isEqualTo(2);
        // Timeline 2 begins in the segment of the promotion: that one is timeline 2's; the whole ones before it are timeline 1's.
        long promotedIn = TimelineHistory.parse(2, Files.readString(standby.pgdata().resolve("pg_wal/00000002.history")))
                .begin().segmentNumber(segSize);
        assertThat(promotedIn - reserved.segmentNumber(segSize)).as("whole segments of timeline 1 the slot kept").isGreaterThanOrEqualTo(2);
        for (long seg = reserved.segmentNumber(segSize); seg < promotedIn; seg++) {
            assertThat(TimelineTest.archived(repo)).contains(WalFileName.segment(1, seg, segSize));
        }
        assertThat(TimelineTest.archived(repo)).contains("00000002.history", WalFileName.segment(2, promotedIn, segSize));
    }
}
