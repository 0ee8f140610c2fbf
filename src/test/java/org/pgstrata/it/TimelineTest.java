package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.wal.WalReceiver;

/**
 * Timeline switches: a restored and promoted cluster continues the archive on a new timeline,
 * a restore along the latest timeline gets its writes, and the streaming receiver follows a
 * server through its promotion.
 */
class TimelineTest extends PgTest {

    private LocalCluster restored(RestoreResult r) {
        return pg.trackRestored(r.target(), 17);
    }

    static List<String> archived(Path repo) throws Exception {
        try (Repository r = Repository.open(repo.toString())) {
            return new WalArchive(r.storage()).entries().stream().map(WalArchive.Entry::name).toList();
        }
    }

    @Test
    void restorePromoteWrite_continuesTheArchiveOnANewTimeline_andLatestFollowsIt() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 3_000, 3_000);
        PgSupport.fullBackup(repo, a);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 100, 100, 100, 2);
        }
        f.restorePoint(PgSupport.conn(a), "fork", true);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 1_000, 3); // a mistake on the old timeline, after the fork point
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);
        a.stop(); // the old primary is retired

        // Restore to the fork point and promote: timeline 2.
        RestoreResult r = f.restore(new RestoreRequest(repo.toString(), dir.resolve("b"), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.NAME, "fork", true, "latest", "promote")));
        LocalCluster b = restored(r);
        try (Connection c = PgSupport.connect(b)) {
            assertThat(Db.queryString(c, "SELECT timeline_id FROM pg_control_checkpoint()")).isIn("1", "2");
        }
        // Archive from the new primary into the same repository (a restart turns archive_mode on).
        f.walSetupApply(repo.toString(), b.pgdata(), PgSupport.conn(b));
        b.stop();
        b.start();
        ContentChecksum.Result newest;
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 500, 0, 0, 4);
            newest = ContentChecksum.compute(c);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(b);
        assertThat(archived(repo)).contains("00000002.history").anyMatch(n -> n.startsWith("00000002") && n.length() == 24);

        // Restoring along the latest timeline gets the new primary's writes.
        RestoreResult latest = f.restore(new RestoreRequest(repo.toString(), dir.resolve("c"), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.LATEST, null, true, "latest", "promote")));
        LocalCluster c = restored(latest);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(newest);
        }
        assertThat(f.info(repo.toString())).anyMatch(w -> w.timeline() == 2);
        assertThat(f.verify(repo.toString(), null).problems()).isEmpty();
    }

    @Test
    void receiver_archivesCompleteSegments_resumesFromItsSlot_andFollowsAPromotion() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        try (Connection c = PgSupport.connect(a)) {
            Books.init(c);
        }
        PgSupport.fullBackup(repo, a);

        // A second repository, fed only by the receiver.
        Path streamed = dir.resolve("streamed");
        f.repoInit(streamed.toString(), a.pgdata());
        WalReceiver.Options opts = new WalReceiver.Options(streamed.toString(), PgSupport.conn(a), "pgstrata_test", null, Compression.ZSTD);
        String end;
        try (Connection c = PgSupport.connect(a)) {
            // Create the slot first: it reserves WAL from now on.
            new WalReceiver(Progress.NONE, () -> false).run(withStop(opts, Db.queryString(c, "SELECT pg_current_wal_lsn()::text")));
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
            end = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        WalReceiver.Result first = new WalReceiver(Progress.NONE, () -> false).run(withStop(opts, end));
        assertThat(first.segments()).isPositive();
        assertThat(Lsn.parse(first.flushed().toString()).isBefore(Lsn.parse(end))).isFalse();
        // Flushed means durable: the slot has moved up to it, and the segments equal archive_command's copies.
        try (Connection c = PgSupport.connect(a)) {
            assertThat(Lsn.parse(Db.queryString(c, "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'pgstrata_test'")))
                    .isEqualTo(first.flushed());
        }
        PitrTest.waitForArchive(a);
        try (Repository s = Repository.open(streamed.toString()); Repository r = Repository.open(repo.toString())) {
            WalArchive sa = new WalArchive(s.storage());
            WalArchive ra = new WalArchive(r.storage());
            for (WalArchive.Entry e : sa.entries()) {
                assertThat(ra.find(e.name())).as(e.name()).isPresent();
                assertThat(ra.checksumOf(ra.find(e.name()).get())).as(e.name()).isEqualTo(sa.checksumOf(e));
            }
        }
        // A restart resumes from the slot: only the new WAL is streamed.
        String end2;
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 3_000, 0, 0, 5);
            end2 = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        WalReceiver.Result second = new WalReceiver(Progress.NONE, () -> false).run(withStop(opts, end2));
        assertThat(second.segments()).isBetween(1, 3);

        // Follow a promotion: stream from a restored copy paused in recovery, then promote it.
        f.restorePoint(PgSupport.conn(a), "fork", true);
        PitrTest.waitForArchive(a);
        RestoreResult r = f.restore(new RestoreRequest(repo.toString(), dir.resolve("b"), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.NAME, "fork", true, "latest", "pause")));
        LocalCluster b = restored(r);
        Path followed = dir.resolve("followed");
        f.repoInit(followed.toString(), a.pgdata());
        AtomicBoolean stop = new AtomicBoolean();
        WalReceiver.Options onB = new WalReceiver.Options(followed.toString(), PgSupport.conn(b), "follower", null, Compression.ZSTD);
        try (Connection c = PgSupport.connect(b)) {
            Db.execute(c, "SELECT pg_create_physical_replication_slot('follower', true)");
        }
        CompletableFuture<WalReceiver.Result> receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(Progress.NONE, stop::get).run(onB));
        // Streaming before the promotion, so that it is followed: a receiver that connected only after it (a sleep stood here, which a
        // slow start outlasted) would start on timeline 2 and pass without following anything
        for (int i = 0; !"1".equals(PgSupport.queryString(b, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'follower' AND active")); i++) {
            assertThat(receiving).as("the receiver, before it streamed").isNotDone();
            assertThat(i).as("the receiver streams from the slot within 60 s").isLessThan(1200);
            Thread.sleep(50);
        }
        try (Connection c = PgSupport.connect(b)) {
            Db.execute(c, "SELECT pg_promote()");
        }
        for (int i = 0; i < 100; i++) {
            try (Connection c = PgSupport.connect(b)) {
                if ("f".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"))) {
                    break;
                }
            }
            Thread.sleep(100);
        }
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 2_000, 0, 0, 6);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        for (int i = 0; i < 200 && archived(followed).stream().noneMatch(n -> n.startsWith("00000002") && n.length() == 24); i++) {
            Thread.sleep(100);
        }
        stop.set(true);
        WalReceiver.Result followedResult = receiving.get(60, TimeUnit.SECONDS);
        assertThat(followedResult.timeline()).isEqualTo(2);
        assertThat(archived(followed)).contains("00000002.history").anyMatch(n -> n.startsWith("00000002") && n.length() == 24);
    }

    private static WalReceiver.Options withStop(WalReceiver.Options o, String lsn) {
        return new WalReceiver.Options(o.repo(), o.connection(), o.slot(), Lsn.parse(lsn), o.compression());
    }
}
