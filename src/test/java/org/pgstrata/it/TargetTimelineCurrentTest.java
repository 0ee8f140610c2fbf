package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * --target-timeline current takes the timeline of the newest backup (or of --backup), and the
 * target is looked up along that timeline's history; but the backup restored can be an older one,
 * on the timeline before the fork. Written through as 'current', PostgreSQL then recovered along
 * that older backup's own timeline, and a target that exists there too (a restore point name used
 * on both timelines, an LSN both reached) was reached on the abandoned timeline, with exit 0 and
 * the plan's words about the other one.
 */
class TargetTimelineCurrentTest extends PgTest {

    @Test
    void currentTimeline_reachesTheTargetOnTheTimelineItWasFoundOn() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 3_000, 1_000);
        BackupResult onTimeline1 = backup(f, repo, a);
        f.restorePoint(PgSupport.conn(a), "fork", true);
        ContentChecksum.Result abandoned;
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 1_000, 3); // the mistake, after the fork point, on timeline 1 only
            abandoned = ContentChecksum.compute(c);
        }
        f.restorePoint(PgSupport.conn(a), "nightly", true);
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        ContentChecksum.Result atNightlyOn2;
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 10, 0, 0, 4);
            atNightlyOn2 = ContentChecksum.compute(c);
        }
        f.restorePoint(PgSupport.conn(b), "nightly", true); // the same name, on timeline 2
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 20, 0, 0, 5);
        }
        BackupResult onTimeline2 = backup(f, repo, b); // the newest backup: after timeline 2's 'nightly'
        PitrTest.waitForArchive(b);
        b.stop();

        RestoreResult r = f.restore(new RestoreRequest(repo.toString(), dir.resolve("c"), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.NAME, "nightly", true, "current", "promote")));
        LocalCluster c = pg.trackRestored(r.target(), 17);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).as("content at 'nightly' (restored %s: %s; newest backup %s on timeline 2)",
                    r.backupId(), r.reason(), onTimeline2.id()).isEqualTo(atNightlyOn2).isNotEqualTo(abandoned);
        }
        assertThat(r.backupId()).isEqualTo(onTimeline1.id());
        c.stopImmediately();
    }

    private static BackupResult backup(Pgstrata f, Path repo, LocalCluster src) {
        return f.backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
