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
            Db.execute(conn, "ALTER SYSTEM SET archive_command = 'false'");
            Db.execute(conn, "SELECT pg_reload_conf()");
        }
        Thread.sleep(300);
        assertThatThrownBy(() -> PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), BackupType.FULL,
                Compression.ZSTD, 2, 0, 3)))
                .isInstanceOf(PgstrataException.class)
                .hasMessageContaining("that the backup needs did not reach the archive").hasMessageContaining("within 3 s")
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.WAL_MISSING);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(ok.id());
    }
}
