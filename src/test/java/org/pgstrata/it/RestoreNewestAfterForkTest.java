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
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * After a point-in-time restore that undid a mistake, promoted onto timeline 2 and archiving into
 * the same repository, the cluster's newest backup lies on timeline 2 at a lower LSN than the
 * backup taken on timeline 1 after the mistake. A restore without a target must restore that
 * newest backup (what 'list' shows last), not the abandoned timeline's, which holds the mistake.
 */
class RestoreNewestAfterForkTest extends PgTest {

    @Test
    void restoreWithoutTarget_picksTheNewestBackupOnTheLatestTimeline() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 3_000, 1_000);
        backup(f, repo, a);
        f.restorePoint(PgSupport.conn(a), "fork", true);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 1_000, 3); // the mistake, after the fork point
        }
        BackupResult afterMistake = backup(f, repo, a);
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        ContentChecksum.Result onTimeline2;
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 10, 0, 0, 4);
            onTimeline2 = ContentChecksum.compute(c);
        }
        BackupResult newest = backup(f, repo, b);
        b.stop();

        RestoreResult plain = f.restore(new RestoreRequest(repo.toString(), dir.resolve("c"), null, true, LocalCluster.freePort(), null, 2));
        LocalCluster c = pg.trackRestored(plain.target(), 17);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).as("content of the restore without a target (%s restored; %s is on the abandoned timeline)",
                    plain.backupId(), afterMistake.id()).isEqualTo(onTimeline2);
        }
        assertThat(plain.backupId()).isEqualTo(newest.id());
        c.stopImmediately();
    }

    private static BackupResult backup(Pgstrata f, Path repo, LocalCluster src) {
        return f.backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
