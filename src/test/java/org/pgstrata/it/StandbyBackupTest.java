package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;

/**
 * Backups taken on a hot standby (issue 16): a primary archiving into the repository, a streaming
 * standby of it, and full and incremental backups read from the standby's data directory, then an
 * incremental from the primary on top. Each restore is proven against the primary's content at
 * the backup's point (writes follow every backup, so a restore that went past its point is caught).
 */
class StandbyBackupTest extends PgTest {
    static final int MAJOR = 17;

    @Test
    void backupsFromAStreamingStandby_restoreToTheirPoint_andAPrimaryIncrementalBuildsOnThem() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = primaryWithBooks(repo, 20_000);
        LocalCluster standby = standbyOf(primary, dir.resolve("standby"));
        assertThat(PgSupport.queryString(standby, "SELECT pg_is_in_recovery()::text")).isEqualTo("true");

        // Full from the standby. The primary's CHECKPOINT lets the standby's restartpoint (at pg_backup_start) write its
        // pages, so that the backup's point (the standby's minimum recovery point) covers everything written so far.
        Lsn written = currentLsn(primary);
        Map<String, ContentChecksum.Result> atFull = settle(primary, standby, true);
        BackupResult full = backup(repo, standby, primary, BackupType.FULL);
        assertThat(Lsn.parse(full.stopLsn())).as("the full's point").isGreaterThanOrEqualTo(written);
        assertThat(full.walSegments()).as("WAL copied from the standby's pg_wal, though the primary archives").isPositive();
        mutate(primary, 1); // after the full: a restore that went past the full's point would hold these

        // An incremental from the standby with no checkpoint on the primary since the full would start at the full's own
        // start (the standby's restartpoint cannot move), before the full's stop: refused, saying what to do.
        mutate(primary, 2);
        settle(primary, standby, false);
        CliRun refused = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", standby.pgdata().toString(), "--port",
                CliBackups.port(standby), "--type", "incr");
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ErrorCode.REFERENCE_MISMATCH.exitCode());
        assertThat(refused.err()).contains("its last restartpoint, before backup " + full.id() + " ends")
                .contains("run CHECKPOINT on the primary");

        // After a checkpoint on the primary the standby's incremental starts after the full, and its point is well defined.
        mutate(primary, 3);
        written = currentLsn(primary);
        Map<String, ContentChecksum.Result> atIncr = settle(primary, standby, true);
        BackupResult incr = backup(repo, standby, primary, BackupType.INCR);
        assertThat(incr.type()).isEqualTo("incr");
        assertThat(incr.reference()).isEqualTo(full.id());
        assertThat(Lsn.parse(incr.stopLsn())).as("the incremental's point").isGreaterThanOrEqualTo(written);
        mutate(primary, 4);

        // An incremental from the primary on top of the standby's chain: same system, same timeline.
        Map<String, ContentChecksum.Result> atPrimaryIncr = ClusterContent.of(primary);
        JsonNode primaryIncr = CliBackups.backup(repo, primary, "incr");
        assertThat(primaryIncr.get("reference").asText()).isEqualTo(incr.id());
        mutate(primary, 5);

        // The standby's signal file stays out of its backups: a restored copy must not follow the live primary.
        PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("r-files"), full.id(), false, null, null, 2));
        assertThat(dir.resolve("r-files/global/pg_control")).exists();
        assertThat(dir.resolve("r-files/standby.signal")).doesNotExist();

        assertThat(restoredContent(repo, full.id(), "r-full")).isEqualTo(atFull);
        assertThat(restoredContent(repo, incr.id(), "r-incr")).isEqualTo(atIncr);
        assertThat(restoredContent(repo, primaryIncr.get("id").asText(), "r-primary-incr")).isEqualTo(atPrimaryIncr);
    }

    /**
     * A delayed standby (recovery_min_apply_delay) receives the primary's WAL at once and replays
     * each commit only once it is older than the delay. A backup of it waited for its replay to
     * pass the backup's stop, which the next young commit held back for the whole delay: exit 25
     * after --archive-timeout, saying the primary writes nothing. What recovery from the backup
     * needs is WAL past the stop, which the standby has received; its point is what it replayed.
     */
    @Test
    void aBackupFromADelayedStandby_endsWithoutWaitingForItsDelay() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = primaryWithBooks(repo, 5_000);
        LocalCluster standby = standbyOf(primary, dir.resolve("standby"));
        Map<String, ContentChecksum.Result> atPoint = settle(primary, standby, true);
        PgSupport.sql(standby, "ALTER SYSTEM SET recovery_min_apply_delay = '1h'", "SELECT pg_reload_conf()");
        Thread.sleep(500); // the startup process rereads its configuration between records
        mutate(primary, 1); // a commit the standby holds back for an hour; its row changes are replayed, uncommitted
        Lsn written = currentLsn(primary);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (Lsn.parse(PgSupport.queryString(standby, "SELECT pg_last_wal_receive_lsn()::text")).isBefore(written)) {
            assertThat(System.nanoTime()).as("the standby receives up to %s within 30 s", written).isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(Lsn.parse(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn()::text"))).as("replay held back").isLessThan(written);

        BackupResult full = backup(repo, standby, primary, BackupType.FULL);
        assertThat(restoredContent(repo, full.id(), "r-delayed")).isEqualTo(atPoint);
    }

    /** A primary archiving into {@code repo}, running, with {@code books} books in it. */
    private LocalCluster primaryWithBooks(Path repo, int books) throws Exception {
        LocalCluster primary = pg.track(PgSupport.facade().clusterInit(dir.resolve("primary"), LocalCluster.freePort(), MAJOR, null,
                repo.toString()));
        primary.start();
        try (Connection c = PgSupport.connect(primary)) {
            Books.init(c);
            Books.populate(c, books, 5_000, 1, Progress.NONE);
        }
        return primary;
    }

    /**
     * A streaming standby of {@code primary}: a copy of its data directory taken while it is
     * stopped, started with standby.signal and primary_conninfo on a port of its own.
     */
    private LocalCluster standbyOf(LocalCluster primary, Path target) throws Exception {
        return standbyOf(pg, primary, target);
    }

    /** A streaming standby of {@code primary} in {@code target} (a copy of its stopped data directory), started; {@code pg} stops it. */
    static LocalCluster standbyOf(PgSupport pg, LocalCluster primary, Path target) throws Exception {
        int primaryPort = PgSupport.conn(primary).port();
        primary.stop();
        PgSupport.copyTree(primary.pgdata(), target);
        primary.start();
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        Files.delete(target.resolve(LocalCluster.LOG_FILE)); // the primary's
        Files.writeString(target.resolve("standby.signal"), "");
        Files.writeString(target.resolve("postgresql.auto.conf"),
                "\nprimary_conninfo = 'host=127.0.0.1 port=" + primaryPort + " user=postgres application_name=standby'\n",
                StandardOpenOption.APPEND);
        LocalCluster standby = pg.track(new LocalCluster(target, primary.binaries())); // the primary's major, whichever it is
        standby.start(LocalCluster.freePort());
        return standby;
    }

    /**
     * Stops writing on the primary (optionally with a CHECKPOINT), waits for the standby to replay
     * all of it, and returns the primary's content, which is now the standby's too.
     */
    private static Map<String, ContentChecksum.Result> settle(LocalCluster primary, LocalCluster standby, boolean checkpoint) throws Exception {
        if (checkpoint) {
            PgSupport.sql(primary, "CHECKPOINT");
        }
        Lsn target = currentLsn(primary);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (Lsn.parse(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn()::text")).isBefore(target)) {
            assertThat(System.nanoTime()).as("the standby replays up to %s within 30 s", target).isLessThan(deadline);
            Thread.sleep(20);
        }
        return ClusterContent.of(primary);
    }

    /** The end of the last record the primary wrote (pg_current_wal_lsn() can name the end of its page instead). */
    private static Lsn currentLsn(LocalCluster c) throws Exception {
        return Lsn.parse(PgSupport.queryString(c, "SELECT pg_current_wal_insert_lsn()::text"));
    }

    private static void mutate(LocalCluster c, long seed) throws Exception {
        try (Connection conn = PgSupport.connect(c)) {
            Books.mutate(conn, 300, 300, 100, seed); // one transaction: on the standby, all or nothing at any replay point
        }
    }

    /**
     * A backup of {@code standby}, from its data directory. The primary stays idle until the
     * backup has stopped, then writes WAL that changes no table (logical messages): the backup
     * must wait for a record after its stop (recovery reaches the point only by reading one), and
     * the content at its point stays the one {@link #settle} captured.
     */
    private static BackupResult backup(Path repo, LocalCluster standby, LocalCluster primary, BackupType type) throws Exception {
        AtomicBoolean stopped = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Exception> failed = new AtomicReference<>();
        Thread ticker = new Thread(() -> {
            try (Connection c = PgSupport.connect(primary)) {
                while (!done.get()) {
                    if (stopped.get()) {
                        Db.execute(c, "SELECT pg_logical_emit_message(false, 'pgstrata-test', 'tick')");
                    }
                    Thread.sleep(100);
                }
            } catch (Exception e) {
                failed.set(e);
            }
        }, "primary-ticker");
        Progress progress = RecordingProgress.atStep(description -> {
            if (description.startsWith("standby backup stopped at")) {
                stopped.set(true);
            }
        });
        ticker.start();
        try {
            return new Pgstrata(Clock.systemUTC(), progress, PgSupport.env()).backup(new BackupRequest(repo.toString(), standby.pgdata(),
                    PgSupport.conn(standby), type, Compression.ZSTD, 2, 0, 15));
        } finally {
            done.set(true);
            ticker.join();
            if (failed.get() != null) {
                throw failed.get();
            }
        }
    }

    /** Restores backup {@code id} to its own point, starts it, and returns its proven content (amcheck clean). */
    private Map<String, ContentChecksum.Result> restoredContent(Path repo, String id, String name) throws Exception {
        CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve(name), MAJOR, "--backup", id);
        assertThat(PgSupport.queryString(r.cluster(), "SELECT pg_is_in_recovery()::text")).as("restored %s is read-write", id).isEqualTo("false");
        Map<String, ContentChecksum.Result> content = ClusterContent.proof(r.cluster());
        r.cluster().stop();
        return content;
    }
}
