package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * Point-in-time restore on a real server that archives into the repository with pgstrata's own
 * archive_command: every kind of target, each proven by the content hash captured at that point.
 */
class PitrTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static BackupResult b1;
    static BackupResult b2;
    /** The content right after change A, with the ways to name that moment. */
    static ContentChecksum.Result afterA;
    static String lsnA;
    static String timeA;
    static String xidA;
    static ContentChecksum.Result afterC;
    static ContentChecksum.Result atB2;
    static ContentChecksum.Result latest;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        Pgstrata f = PgSupport.facade();
        source = pg.archivingBooks("source", repo, 5_000, 5_000);
        b1 = PgSupport.fullBackup(repo, source);

        try (Connection c = PgSupport.connect(source)) {
            // Change A, in a transaction whose id we keep.
            c.setAutoCommit(false);
            Db.execute(c, "UPDATE books SET price = price + 10 WHERE id % 7 = 0");
            xidA = Db.queryString(c, "SELECT pg_current_xact_id()::text");
            c.commit();
            c.setAutoCommit(true);
            afterA = ContentChecksum.compute(c);
            lsnA = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
            timeA = Db.queryString(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
            Thread.sleep(20);
        }
        f.restorePoint(PgSupport.conn(source), "after-a", false);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 200, 0, 300, 11); // change B
            atB2 = ContentChecksum.compute(c);
        }
        b2 = PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 0, 400, 0, 12); // change C
            afterC = ContentChecksum.compute(c);
        }
        f.restorePoint(PgSupport.conn(source), "after-c", false);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 50, 50, 50, 13); // change D: more than any backup holds
            latest = ContentChecksum.compute(c);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        waitForArchive(source);
    }

    /** Waits until the server has archived everything up to its current segment. */
    static void waitForArchive(LocalCluster c) throws Exception {
        for (int i = 0; i < 300; i++) {
            try (Connection conn = PgSupport.connect(c)) {
                String ready = Db.queryString(conn, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'");
                if ("0".equals(ready)) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not archive its WAL in time");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static RestoreResult restore(String name, RecoveryTarget target) {
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve(name), null, true,
                LocalCluster.freePort(), null, 2, target));
        pg.trackRestored(r.target(), 17);
        return r;
    }

    private static void assertContent(RestoreResult r, ContentChecksum.Result expected) throws Exception {
        LocalCluster c = new LocalCluster(r.target(), PgBinaries.resolve(null, 17, PgSupport.env()));
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(expected);
            assertThat(Amcheck.check(conn)).isEmpty();
        }
        c.stop();
    }

    private static RecoveryTarget target(RecoveryTarget.Type type, String value) {
        return new RecoveryTarget(type, value, true, "latest", "promote");
    }

    @Test
    void restoreByTime_givesTheContentAtThatTime() throws Exception {
        RestoreResult r = restore("by-time", target(RecoveryTarget.Type.TIME, timeA));
        assertThat(r.backupId()).isEqualTo(b1.id());
        assertThat(r.reason()).contains(b1.id()).contains("precedes time");
        assertThat(r.state()).isEqualTo("read-write");
        assertContent(r, afterA);
    }

    @Test
    void restoreByLsn_givesTheContentAtThatLsn() throws Exception {
        RestoreResult r = restore("by-lsn", target(RecoveryTarget.Type.LSN, lsnA));
        assertThat(r.backupId()).isEqualTo(b1.id());
        assertContent(r, afterA);
    }

    @Test
    void restoreByXid_stopsAtThatCommit() throws Exception {
        RestoreResult r = restore("by-xid", target(RecoveryTarget.Type.XID, xidA));
        assertThat(r.reason()).contains("transaction " + xidA).contains("commit record at");
        assertContent(r, afterA);
    }

    @Test
    void restoreByName_picksTheNewestBackupBeforeIt() throws Exception {
        RestoreResult a = restore("by-name-a", target(RecoveryTarget.Type.NAME, "after-a"));
        assertThat(a.backupId()).isEqualTo(b1.id());
        assertContent(a, afterA);
        RestoreResult c = restore("by-name-c", target(RecoveryTarget.Type.NAME, "after-c"));
        assertThat(c.backupId()).isEqualTo(b2.id());
        assertThat(c.reason()).contains("restore point 'after-c'");
        assertContent(c, afterC);
    }

    @Test
    void aBackupWhoseWalIsInTheArchive_restoresToItsOwnPoint_withoutATarget() throws Exception {
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("own-point"), b2.id(), true,
                LocalCluster.freePort(), null, 2));
        pg.trackRestored(r.target(), 17);
        assertThat(r.reason()).contains("to its own consistency point").contains("from the archive");
        assertContent(r, atB2);
    }

    @Test
    void restoreToLatest_replaysMoreThanTheBackupHolds() throws Exception {
        RestoreResult r = restore("latest", target(RecoveryTarget.Type.LATEST, null));
        assertThat(r.backupId()).isEqualTo(b2.id());
        assertContent(r, latest);
    }

    @Test
    void restoreWithPause_leavesTheServerReadOnlyAtTheTarget() throws Exception {
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("paused"), null, true,
                LocalCluster.freePort(), null, 2, new RecoveryTarget(RecoveryTarget.Type.NAME, "after-a", true, "latest", "pause")));
        LocalCluster c = pg.trackRestored(r.target(), 17);
        assertThat(r.state()).contains("paused");
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(Db.queryString(conn, "SELECT pg_is_in_recovery()")).isEqualTo("t");
            assertThat(ContentChecksum.compute(conn)).isEqualTo(afterA);
        }
        c.stop();
    }

    @Test
    void aTargetBeforeTheOldestBackup_isRefused() {
        assertThatThrownBy(() -> restore("too-early", target(RecoveryTarget.Type.TIME, "2001-01-01T00:00:00Z")))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("before the oldest backup's consistency point")
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.TARGET_UNREACHABLE);
        assertThat(dir.resolve("too-early")).doesNotExist();
    }

    @Test
    void aTargetAfterTheNewestWal_isRefused() {
        assertThatThrownBy(() -> restore("too-late", target(RecoveryTarget.Type.LSN, "FF/0")))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("after the end of the archived WAL");
        assertThatThrownBy(() -> restore("too-late-time", target(RecoveryTarget.Type.TIME, "2099-01-01T00:00:00Z")))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("not before the newest archived transaction");
        assertThatThrownBy(() -> restore("no-such-name", target(RecoveryTarget.Type.NAME, "never-made")))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("restore point 'never-made'");
        assertThat(dir.resolve("too-late")).doesNotExist();
    }

    @Test
    void info_showsTheWindowAndTheRestorePoints() {
        var windows = PgSupport.facade().info(repo.toString());
        RecoveryWindow w = windows.stream().filter(x -> x.timeline() == 1).findFirst().orElseThrow();
        assertThat(w.earliestLsn()).isEqualTo(b1.stopLsn());
        assertThat(w.backups()).contains(b1.id(), b2.id());
        assertThat(w.restorePoints()).anyMatch(p -> p.startsWith("after-a at ")).anyMatch(p -> p.startsWith("after-c at "));
        assertThat(w.latestTime()).isNotNull();
        assertThat(w.gaps()).isEmpty();
        assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();
    }

    @Test
    void aMissingSegmentInsideTheWindow_stopsTheRestore_andVerifyNamesIt() throws Exception {
        Path copy = dir.resolve("repo-with-gap");
        PgSupport.copyTree(repo, copy);
        // Remove a segment between the first backup and the end.
        String lsnSegment;
        try (Connection c = PgSupport.connect(source)) {
            lsnSegment = Db.queryString(c, "SELECT pg_walfile_name('" + lsnA + "')");
        }
        Path victim;
        try (Stream<Path> s = Files.walk(copy.resolve("archive"))) {
            victim = s.filter(p -> p.getFileName().toString().equals(lsnSegment)).findFirst().orElseThrow();
        }
        Files.delete(victim);

        VerifyResult v = PgSupport.facade().verify(copy.toString(), null);
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).anyMatch(p -> p.contains("archive gap") && p.contains(lsnSegment));
        // No backup is damaged: the hint is about the points past the gap, not "do not rely on the damaged backups"
        CliRun cli = CliRun.run("verify", "--repo", copy.toString());
        assertThat(cli.exitCode()).isEqualTo(15);
        assertThat(cli.err()).contains("archive gap").doesNotContain("damaged backups").contains("hint: the points past a gap");

        // Every target whose way from its backup crosses the hole is refused, naming the segment.
        for (RecoveryTarget t : new RecoveryTarget[] {target(RecoveryTarget.Type.NAME, "after-a"), target(RecoveryTarget.Type.LSN, lsnA),
            target(RecoveryTarget.Type.XID, xidA)}) {
            assertThatThrownBy(() -> PgSupport.facade().restore(new RestoreRequest(copy.toString(), dir.resolve("gap"), null, false, null,
                    null, 2, t)))
                    .as(t.describe())
                    .isInstanceOf(PgstrataException.class).hasMessageContaining("WAL segment " + lsnSegment + " is missing")
                    .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.WAL_MISSING);
            assertThat(dir.resolve("gap")).doesNotExist();
        }
        // The newer backup does not need the hole: the latest point still restores from it.
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(copy.toString(), dir.resolve("past-gap"), null, true,
                LocalCluster.freePort(), null, 2, target(RecoveryTarget.Type.LATEST, null)));
        pg.trackRestored(r.target(), 17);
        assertThat(r.backupId()).isEqualTo(b2.id());
        assertContent(r, latest);
    }

    @Test
    void aDamagedSegment_stopsRecoveryWithAnError_insteadOfEndingItEarly() throws Exception {
        Path copy = dir.resolve("repo-damaged");
        PgSupport.copyTree(repo, copy);
        // Damage a segment that the latest restore (from b2) must replay.
        String segment;
        try (Connection c = PgSupport.connect(source)) {
            segment = Db.queryString(c, "SELECT pg_walfile_name('" + b2.stopLsn() + "')");
        }
        Path victim;
        try (Stream<Path> s = Files.walk(copy.resolve("archive"))) {
            victim = s.filter(p -> p.getFileName().toString().equals(segment)).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(victim);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(victim, bytes);
        Path target = dir.resolve("damaged-latest");
        try {
            assertThatThrownBy(() -> PgSupport.facade().restore(new RestoreRequest(copy.toString(), target, null, true,
                    LocalCluster.freePort(), null, 2, target(RecoveryTarget.Type.LATEST, null))))
                    .isInstanceOf(PgstrataException.class).hasMessageContaining("damaged");
        } finally {
            if (Files.exists(target)) {
                pg.trackRestored(target, 17);
            }
        }
    }
}
