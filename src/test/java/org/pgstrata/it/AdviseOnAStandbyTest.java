package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * advise on a hot standby whose backups are taken there. A standby's backup copies its WAL from the
 * standby's pg_wal (from its last restartpoint, up to a checkpoint interval of WAL), whether or not
 * the primary archives into the repository; advise took a non-empty archive to mean that backups
 * store no WAL, and left that WAL out of every strategy's bytes and restore time.
 */
class AdviseOnAStandbyTest extends PgTest {
    @Test
    void onAStandby_predictsTheStandbysNextIncremental() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = pg.track(PgSupport.facade().clusterInit(dir.resolve("primary"), LocalCluster.freePort(), 17, null,
                repo.toString()));
        primary.start();
        PgSupport.sql(primary, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()");
        try (Connection c = PgSupport.connect(primary)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
        }
        LocalCluster standby = StandbyBackupTest.standbyOf(pg, primary, dir.resolve("standby"));
        PgSupport.sql(primary, "CHECKPOINT");
        Replication.awaitReplay(standby, primary);
        BackupResult full = Replication.whilePrimaryTicks(primary, () -> backup(repo, standby, BackupType.FULL));
        assertThat(full.walSegments()).as("a standby's backup copies its WAL from the standby's pg_wal, though the primary archives")
                .isPositive();
        try (Connection c = PgSupport.connect(primary)) {
            Books.mutate(c, 3_000, 1_000, 0, 7);
        }
        PgSupport.sql(primary, "CHECKPOINT");
        Replication.awaitReplay(standby, primary);
        Advice advice = PgSupport.facade().advise(new AdviseRequest(repo.toString(), standby.pgdata(), PgSupport.conn(standby), true, 2, dir, 0.3));
        assertThat(advice.backupWalBytes()).as("each backup of the standby stores its own WAL, as the full did").isPositive();
        assertThat(advice.assumptions()).noneMatch(a -> a.contains("backups store no WAL of their own"));
        BackupResult incr = Replication.whilePrimaryTicks(primary, () -> backup(repo, standby, BackupType.INCR));
        assertThat(incr.walSegments()).as("the standby's incremental stores its WAL too").isPositive();
    }

    private static BackupResult backup(Path repo, LocalCluster standby, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), standby.pgdata(), PgSupport.conn(standby), type, Compression.ZSTD, 2, 0,
                60));
    }
}
