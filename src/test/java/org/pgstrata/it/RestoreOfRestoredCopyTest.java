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
 * A cluster brought back by a point-in-time restore keeps the recovery target that restore
 * wrote into its postgresql.auto.conf (PostgreSQL leaves it there after promotion), and its
 * backups carry it. A restore of such a backup to another kind of target (here its own
 * consistency point) added a second target, and the server refused to start ("multiple recovery
 * targets specified"); one to the end of the archive kept the old restore point as its target.
 */
class RestoreOfRestoredCopyTest extends PgTest {

    @Test
    void aBackupOfAClusterRestoredToATarget_restoresToAnyTarget() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 2_000, 1_000);
        f.backup(new BackupRequest(repo.toString(), a.pgdata(), PgSupport.conn(a), BackupType.FULL, Compression.ZSTD, 2, 0));
        f.restorePoint(PgSupport.conn(a), "fork", true);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 500, 3); // the mistake
        }
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 10, 0, 0, 4);
        }
        BackupResult ofB = f.backup(new BackupRequest(repo.toString(), b.pgdata(), PgSupport.conn(b), BackupType.FULL, Compression.ZSTD, 2, 0));
        ContentChecksum.Result atBackup;
        try (Connection c = PgSupport.connect(b)) {
            atBackup = ContentChecksum.compute(c);
        }
        b.stop();

        RestoreResult plain = f.restore(new RestoreRequest(repo.toString(), dir.resolve("c"), ofB.id(), true, LocalCluster.freePort(), null, 2));
        LocalCluster c = pg.trackRestored(plain.target(), 17);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(atBackup);
        }
        c.stopImmediately();
    }
}
