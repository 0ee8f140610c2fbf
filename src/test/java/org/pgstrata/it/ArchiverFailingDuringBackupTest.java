package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup whose WAL the server's archiver cannot store (here the repository's directory for the
 * timeline's segments is a file; a full repository disk does the same) waited, then said only
 * that the segment "did not reach the archive": the archiver's own failures, counted by the
 * server, were not mentioned, and the hint sent the operator to archive_command, which was fine.
 */
class ArchiverFailingDuringBackupTest extends PgTest {

    @Test
    void backupWaitingForWalTheArchiverCannotStore_saysTheArchiverFails() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.archiving("source", repo);
        String first = CliBackups.backupId(repo, c, "full");
        String segment = PgSupport.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        Path segments = repo.resolve("archive").resolve(segment.substring(0, 16));
        Path aside = dir.resolve("aside");
        Files.move(segments, aside);
        Files.writeString(segments, "not a directory");
        try {
            CliRun r = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "-p",
                    Integer.toString(PgSupport.conn(c).port()), "--archive-timeout", "5");
            assertThat(r.exitCode()).as(r.err()).isEqualTo(25);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err()).contains("did not reach the archive").contains("the server's archiver fails on " + segment.substring(0, 16))
                    .contains("the backup was not kept");
        } finally {
            Files.delete(segments);
            Files.move(aside, segments);
        }
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(first);
    }
}
