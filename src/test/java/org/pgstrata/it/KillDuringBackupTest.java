package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Invariants 1, 3 and 7 with a real process: a backup killed with SIGKILL in the middle of the
 * copy leaves no listed backup, earlier backups stay restorable, the next backup works; while it
 * ran, a second writer was refused with the holder's pid.
 */
class KillDuringBackupTest extends PgTest {

    @Test
    void backupKilledMidCopy_leavesNoBackup_earlierOnesRestore_andTheNextBackupWorks() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        ContentChecksum.Result first;
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 10_000, 5_000, 1, Progress.NONE);
            first = ContentChecksum.compute(c);
        }
        BackupResult earlier = PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 500, 500, 500, 2);
        }

        // A backup in another JVM that stops after 100 files, holding the lock, with objects half written.
        Process child = ChildCli.start(Map.of("PGSTRATA_TEST_PAUSE_AFTER_FILES", "100"), List.of(), "backup", "--repo", repo.toString(),
                "--pgdata", source.pgdata().toString(), "--port", Integer.toString(PgSupport.conn(source).port()), "--jobs", "1");
        try {
            ChildCli.awaitLine(child, "test hook: pausing", 120);

            // Invariant 7 across processes: the second writer fails at once and names the holder.
            long t0 = System.nanoTime();
            try {
                PgSupport.fullBackup(repo, source);
                throw new AssertionError("a second backup ran while the first held the lock");
            } catch (PgstrataException e) {
                assertThat(e.code()).isEqualTo(ErrorCode.LOCKED);
                assertThat(e.getMessage()).contains("pid " + child.pid());
            }
            assertThat((System.nanoTime() - t0) / 1e9).isLessThan(5.0);

            // Half-written objects exist, but no manifest.
            try (Repository r = Repository.open(repo.toString())) {
                assertThat(r.incompleteBackups()).hasSize(1);
            }
        } finally {
            ChildCli.kill(child); // SIGKILL: no shutdown hooks, no cleanup
        }
        assertThat(child.exitValue()).isEqualTo(137);

        // No listed backup but the earlier one; verify passes and names the leftover.
        List<BackupInfo> listed = PgSupport.facade().list(repo.toString());
        assertThat(listed).extracting(BackupInfo::id).containsExactly(earlier.id());
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).isTrue();
        assertThat(v.incomplete()).hasSize(1);

        // The earlier backup restores to its content.
        LocalCluster restored = pg.restoreAndStart(repo, earlier.id(), "restored-earlier", 17);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(first);
        }
        restored.stop();

        // The next backup works, clears what the killed one left, and restores to the present content.
        ContentChecksum.Result now;
        try (Connection c = PgSupport.connect(source)) {
            now = ContentChecksum.compute(c);
        }
        BackupResult next = PgSupport.fullBackup(repo, source);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(earlier.id(), next.id());
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.incompleteBackups()).isEmpty();
        }
        assertThat(new FileStorage(repo).leftoverTemporaryFiles()).isEmpty();
        LocalCluster restoredNext = pg.restoreAndStart(repo, next.id(), "restored-next", 17);
        try (Connection c = PgSupport.connect(restoredNext)) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(now);
        }
    }
}
