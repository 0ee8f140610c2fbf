package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A restore point name used twice, with a backup between the two: PostgreSQL stops at the first
 * restore point of that name that it replays after the backup's start. Without --backup the
 * restore reaches the first use (from the backup before it); with --backup naming the later
 * backup it reaches the second, which is what that backup's recovery does. It was refused as
 * "before the oldest backup's consistency point", which was not true of either.
 */
class RestorePointNameReusedTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static Path repo;
    static BackupResult before;
    static BackupResult between;
    static ContentChecksum.Result atFirst;
    static ContentChecksum.Result atSecond;

    /** Inserts {@code inserts} books and deletes {@code deletes} (Books.mutate with {@code seed}); the content after. */
    private static ContentChecksum.Result mutate(LocalCluster source, int inserts, int deletes, long seed) throws Exception {
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, inserts, 0, deletes, seed);
            return ContentChecksum.compute(c);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        Pgstrata f = PgSupport.facade();
        LocalCluster source = pg.archivingBooks("source", repo, 2_000, 2_000);
        before = PgSupport.fullBackup(repo, source);
        atFirst = mutate(source, 10, 0, 1);
        f.restorePoint(PgSupport.conn(source), "nightly", true);
        mutate(source, 0, 100, 2);
        between = PgSupport.fullBackup(repo, source);
        atSecond = mutate(source, 20, 0, 3);
        f.restorePoint(PgSupport.conn(source), "nightly", true);
        mutate(source, 0, 100, 4);
        PitrTest.waitForArchive(source);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static RestoreResult restore(String name, String backupId) {
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve(name), backupId, true,
                LocalCluster.freePort(), null, 2, new RecoveryTarget(RecoveryTarget.Type.NAME, "nightly", true, "latest", "promote")));
        pg.trackRestored(r.target(), 17);
        return r;
    }

    private static void assertContent(RestoreResult r, ContentChecksum.Result expected) throws Exception {
        LocalCluster c = pg.trackRestored(r.target(), 17);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).as(r.reason()).isEqualTo(expected);
        }
        c.stop();
    }

    @Test
    void withoutBackup_reachesTheFirstUseFromTheBackupBeforeIt() throws Exception {
        RestoreResult r = restore("first", null);
        assertThat(r.backupId()).isEqualTo(before.id());
        assertContent(r, atFirst);
    }

    @Test
    void withTheLaterBackup_reachesTheSecondUse() throws Exception {
        RestoreResult r = restore("second", between.id());
        assertThat(r.backupId()).isEqualTo(between.id());
        assertContent(r, atSecond);
    }
}
