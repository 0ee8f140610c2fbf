package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.db.LocalCluster;

/**
 * A server that archives into {@code DIR/repo-archive} does not archive into {@code DIR/repo}.
 * Backup and advise took a repository as the server's archive when its path merely occurred in
 * archive_command, so a backup into {@code DIR/repo} (empty archive) waited for WAL that never came
 * and failed with exit 25, and advise predicted backups without their own WAL. The path must now
 * stand in the command as a whole word.
 */
class ArchiveIntoANeighbourTest extends PgTest {
    @Test
    void aRepositoryWhosePathStartsTheArchivesPath_isNotTheArchive() throws Exception {
        LocalCluster c = pg.archiving("pg", dir.resolve("repo-archive"));
        PgSupport.sql(c, "CREATE TABLE t (id int PRIMARY KEY, b text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        BackupResult full = PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), BackupType.FULL,
                Compression.ZSTD, 2, 0, 3));
        assertThat(full.walSegments()).as("the backup stores its own WAL: the server archives elsewhere").isPositive();

        PgSupport.sql(c, "UPDATE t SET b = b || 'x' WHERE id % 10 = 0");
        Advice advice = PgSupport.facade().advise(new AdviseRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), true, 2, dir, 0.3));
        assertThat(advice.backupWalBytes()).as("each backup stores its own WAL, as the full did").isPositive();
    }
}
