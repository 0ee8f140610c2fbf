package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/** Invariant 2: with an archive, a backup is complete only once its WAL is archived. */
class ArchiveBackupTest extends PgTest {

    @Test
    void backup_whoseWalNeverReachesTheArchive_failsNamingTheSegment_andIsNotListed() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.archiving("pg", repo);
        var ok = PgSupport.fullBackup(repo, c);
        // Break archiving: the archiver now fails on every segment.
        try (Connection conn = PgSupport.connect(c)) {
            long failed = Long.parseLong(Db.queryString(conn, "SELECT failed_count FROM pg_stat_archiver"));
            Db.execute(conn, "ALTER SYSTEM SET archive_command = 'false'");
            Db.execute(conn, "SELECT pg_reload_conf()");
            // Until the archiver has failed once, it may still run the old command (it rereads its settings when it gets to it, and a
            // fixed sleep only usually covered that): then the backup's WAL would reach the archive and the backup succeed
            Db.execute(conn, "SELECT pg_create_restore_point('archiving broken')");
            Db.execute(conn, "SELECT pg_switch_wal()");
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (Long.parseLong(Db.queryString(conn, "SELECT failed_count FROM pg_stat_archiver")) <= failed) {
                assertThat(System.nanoTime()).as("the archiver runs archive_command = 'false' within 60 s").isLessThan(deadline);
                Thread.sleep(50);
            }
        }
        assertThatThrownBy(() -> PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), BackupType.FULL,
                Compression.ZSTD, 2, 0, 3)))
                .isInstanceOf(PgstrataException.class)
                .hasMessageContaining("that the backup needs did not reach the archive").hasMessageContaining("within 3 s")
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.WAL_MISSING);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(ok.id());
    }
}
