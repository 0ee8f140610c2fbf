package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TablespaceCreations;
import org.pgstrata.postgres.WalFileName;

/**
 * A CREATE TABLESPACE record that runs from segment N into N+1, and a failover before N+1 was
 * archived: the primary dies, its streaming standby is promoted after the record, and archives
 * timeline 2's copy of N+1 (which begins with timeline 1's bytes up to the switch) and
 * 00000002.history, but timeline 1's N+1 never (only as .partial, which recovery does not use).
 * A restore to the latest timeline on the same machine replays the creation from timeline 1's N
 * and timeline 2's N+1. wal get looked for the record's other half on the fetched segment's own
 * timeline only, and let the creation through: the copy took the old primary's tablespace
 * directory as its own.
 */
class TablespaceCreationAcrossFailoverTest extends PgTest {
    private static final long SEG = 16L * 1024 * 1024;

    @Test
    void aCreationCutAtASegmentsEnd_beforeAFailover_isRefusedOnTheNewTimeline() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = pg.archiving("primary", repo);
        PgSupport.sql(primary, "CREATE TABLE a AS SELECT g AS id FROM generate_series(1, 2000) g");
        String backup = CliBackups.backupId(repo, primary, "full");
        LocalCluster standby = StandbyBackupTest.standbyOf(pg, primary, dir.resolve("standby")); // archives once promoted

        TablespaceCreationCutAtSegmentEndTest.CutCreation made = TablespaceCreationCutAtSegmentEndTest.createAcrossSegmentEnd(primary, dir);
        TablespaceCreations.Creation cut = made.creation();
        long segment = cut.lsn().value() / SEG;
        PitrTest.waitForArchive(primary); // segment N; N+1 is still being written
        PgSupport.sql(primary, "CREATE TABLE lt TABLESPACE late AS SELECT g AS id FROM generate_series(1, 100) g");
        Lsn end = Lsn.parse(PgSupport.queryString(primary, "SELECT pg_current_wal_insert_lsn()::text"));
        assertThat(end.value() / SEG).as("still in segment N+1").isEqualTo(segment + 1);
        TablespaceCreationCutAtSegmentEndTest.waitFor(() -> !Lsn.parse(PgSupport.queryString(standby,
                "SELECT pg_last_wal_replay_lsn()::text")).isBefore(end), "the standby's replay past the creation, up to " + end);
        primary.stopImmediately(); // the failure: timeline 1's N+1 is never archived

        PgSupport.sql(standby, "SELECT pg_promote(true)");
        PgSupport.sql(standby, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(standby);
        String oldNext = WalFileName.segment(1, segment + 1, SEG);
        String newNext = WalFileName.segment(2, segment + 1, SEG);
        List<String> archived;
        try (var files = Files.walk(repo.resolve("archive"))) {
            archived = files.map(p -> p.getFileName().toString()).toList();
        }
        assertThat(archived).as("the archive after the failover").contains(WalFileName.segment(1, segment, SEG), newNext, "00000002.history")
                .doesNotContain(oldNext);
        standby.stop();
        Map<String, String> files = PgSupport.snapshot(made.location());

        Path copy = dir.resolve("copy");
        CliRun restored = CliRun.run("restore", "--repo", repo.toString(), "--backup", backup, "--to", copy.toString(), "--target", "latest",
                "--port", Integer.toString(LocalCluster.freePort()), "--start");
        pg.trackRestored(copy, 17);
        assertThat(restored.exitCode()).as(restored.err()).isEqualTo(ErrorCode.TABLESPACE_IN_USE.exitCode());
        assertThat(restored.errLines().get(0)).contains(made.location().toString());
        try (var links = Files.list(copy.resolve("pg_tblspc"))) {
            assertThat(links.toList()).as("the copy's tablespace links").isEmpty();
        }
        assertThat(PgSupport.snapshot(made.location())).as("the old primary's tablespace files").isEqualTo(files);
    }
}
