package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * --retain-days keeps the newest backup before the window on the way to each timeline, so that the
 * window's moments on a timeline a point-in-time restore left restore too. A timeline whose newest
 * archived transaction lies before the window has no moment in it: its backup, and the WAL from
 * that backup's start on, went only once they were no longer needed, not never.
 */
class ExpireAbandonedTimelineTest extends PgTest {
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);

    @Test
    void retainDays_releasesTheBackupOfATimelineThatEndedBeforeTheWindow() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 3_000, 1_000);
        BackupResult old = backup(repo, a, 40);
        PgSupport.facade().restorePoint(PgSupport.conn(a), "fork", true);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 1_000, 3); // the mistake, on timeline 1
        }
        BackupResult afterMistake = backup(repo, a, 30); // past the fork: on timeline 1 only
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 10, 0, 0, 5);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);
        a.stop();

        // Timeline 2, archiving into the same repository, with a backup of its own.
        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 500, 0, 0, 4);
        }
        java.util.Map<String, ContentChecksum.Result> onTimeline2 = ClusterContent.of(b);
        BackupResult tl2 = backup(repo, b, 1);
        try (Connection c = PgSupport.connect(b)) {
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(b);
        b.stop();

        // A month on, the last 7 days hold no moment of timeline 1: its newest transaction is weeks old.
        Pgstrata later = new Pgstrata(Clock.fixed(now.plus(Duration.ofDays(30)), ZoneOffset.UTC), Progress.NONE, PgSupport.env());
        ExpireResult r = later.expire(new ExpireRequest(repo.toString(), null, 7, null, false));
        assertThat(r.kept()).extracting(ExpireResult.Backup::id).containsExactly(tl2.id());
        assertThat(r.removed()).extracting(ExpireResult.Backup::id).containsExactlyInAnyOrder(old.id(), afterMistake.id());
        assertThat(r.walKeptFrom()).isEqualTo(tl2.startLsn());
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(tl2.id());
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();

        LocalCluster c = pg.restoreAndStart(repo, tl2.id(), "c", 17);
        assertThat(ClusterContent.of(c)).isEqualTo(onTimeline2);
        assertThat(ClusterContent.amcheck(c)).isEmpty();
        c.stopImmediately();
    }

    private BackupResult backup(Path repo, LocalCluster src, int daysAgo) {
        Pgstrata at = new Pgstrata(Clock.fixed(now.minus(Duration.ofDays(daysAgo)), ZoneOffset.UTC), Progress.NONE, PgSupport.env());
        return at.backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
