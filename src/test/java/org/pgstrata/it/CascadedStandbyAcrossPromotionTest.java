package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Backups of a standby that followed its primary's promotion onto a new timeline. Primary A is
 * backed up (full, incr); B is A's streaming standby and S is B's (cascading). B is promoted
 * (timeline 2) and S follows it. A, not knowing, writes on timeline 1 and is backed up there
 * (incr): that backup lies past the fork, outside S's past, and is the newest of timeline 1.
 */
class CascadedStandbyAcrossPromotionTest extends PgTest {
    private static final int MAJOR = 17;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@link #promoted} made: A, B promoted (timeline 2), S following B, all running, and A's backups before the fork. */
    record Fork(Path repo, LocalCluster a, LocalCluster b, LocalCluster s, String f1, String i1) {
    }

    /**
     * A backed up (full, incr) with B its standby and S B's; S's restartpoint on timeline 1, every
     * page it replayed written out; B promoted, with {@code dirtyAtPromotion} rows that B replayed
     * and had not written out (its promotion's checkpoint then takes minutes: without a timed one,
     * it writes about 10 pages a second); S caught up with B.
     */
    private Fork promoted(int dirtyAtPromotion) throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.track(PgSupport.facade().clusterInit(dir.resolve("a"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        a.start();
        // No timed checkpoint or restartpoint during the test: S's restartpoints are the ones the test and the backups make.
        PgSupport.sql(a, "ALTER SYSTEM SET wal_keep_size = '1GB'", "ALTER SYSTEM SET checkpoint_timeout = '1d'", "SELECT pg_reload_conf()");
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        String f1 = CliBackups.backupId(repo, a, "full");
        PgSupport.sql(a, "UPDATE t SET v = 'before the fork' WHERE id % 10 = 0");
        String i1 = CliBackups.backupId(repo, a, "incr");

        LocalCluster b = StandbyBackupTest.standbyOf(pg, a, dir.resolve("b"));
        Replication.awaitReplay(b, a);
        LocalCluster s = cascadingStandbyOf(b, dir.resolve("s"));
        // The background writer writes out no page S replays: its minimum recovery point moves only at a restartpoint.
        PgSupport.sql(s, "ALTER SYSTEM SET bgwriter_lru_maxpages = 0", "SELECT pg_reload_conf()");
        PgSupport.sql(a, "CHECKPOINT");
        Replication.awaitReplay(s, a);
        PgSupport.sql(s, "CHECKPOINT"); // S's restartpoint on timeline 1, every page it replayed written out
        if (dirtyAtPromotion > 0) {
            PgSupport.sql(a, "CREATE TABLE big AS SELECT g, md5(g::text) m FROM generate_series(1, " + dirtyAtPromotion + ") g");
            Replication.awaitReplay(s, a);
        }

        PgSupport.sql(b, "SELECT pg_promote(true)");
        PgSupport.awaitReadWrite(b, 30);
        return new Fork(repo, a, b, s, f1, i1);
    }

    /**
     * B checkpoints on timeline 2 and S replays it, but S's last restartpoint and its minimum
     * recovery point stay on timeline 1 (nothing it replayed on timeline 2 was written out). S's
     * incremental chooses its reference before its start by the newest timeline S is known to have
     * reached (BackupSession.currentTimeline: 1), so A's backup after the fork. The restartpoint
     * pg_backup_start makes is at B's checkpoint, on timeline 2: the backup starts there, chooses
     * again on timeline 2 (A's incremental before the fork), says so, and restores S's content.
     * Without that second choice it was refused (exit 26, "is not in this cluster's history").
     */
    @Test
    void anIncrementalOfAStandbyThatFollowedAPromotion_choosesAgainOnTheTimelineItStartsOn_andRestores() throws Exception {
        Fork fork = promoted(0);
        Path repo = fork.repo();
        LocalCluster a = fork.a();
        LocalCluster b = fork.b();
        LocalCluster s = fork.s();
        String f1 = fork.f1();
        String i1 = fork.i1();
        PgSupport.sql(b, "CHECKPOINT");
        Replication.awaitReplay(s, b);
        assertThat(PgSupport.queryString(s, "SELECT received_tli::text FROM pg_stat_wal_receiver")).as("S follows B on timeline 2").isEqualTo("2");
        assertThat(PgSupport.queryString(s, "SELECT timeline_id::text FROM pg_control_checkpoint()")).as("S's last restartpoint").isEqualTo("1");
        assertThat(PgSupport.queryString(s, "SELECT min_recovery_end_timeline::text FROM pg_control_recovery()"))
                .as("S's minimum recovery point's timeline").isEqualTo("1");
        Map<String, ContentChecksum.Result> atS = ClusterContent.of(s);

        // A, not knowing, writes on timeline 1 and is backed up there, past the fork: the newest backup of timeline 1.
        PgSupport.sql(a, "UPDATE t SET v = 'A after the fork' WHERE id % 7 = 0", "CHECKPOINT");
        String i2 = CliBackups.backupId(repo, a, "incr");
        assertThat(ClusterContent.of(a)).as("A's writes after the fork are not S's").isNotEqualTo(atS);

        List<String> steps = new CopyOnWriteArrayList<>();
        BackupResult incr = Replication.whilePrimaryTicks(b, () -> backup(repo, s, BackupType.INCR, steps));
        String id = incr.id();
        assertThat(steps).as("what the backup said").contains("the backup starts on timeline 2, not 1: building on " + i1 + " instead of " + i2)
                .anyMatch(step -> step.startsWith("starting incr backup " + id + " on " + i2 + " "));
        assertThat(incr.reference()).as("the backup's result").isEqualTo(i1);
        JsonNode listed = null;
        for (JsonNode n : CliBackups.run("list", "--json", "--repo", repo.toString())) {
            if (n.get("id").asText().equals(id)) {
                listed = n;
            }
        }
        assertThat(listed).as("list names the backup").isNotNull();
        assertThat(listed.get("reference").asText()).as("list: %s", listed).isEqualTo(i1);
        assertThat(listed.get("chain").toString()).as("list: %s", listed).isEqualTo(JSON.writeValueAsString(List.of(f1, i1, id)));
        assertThat(CliBackups.ok("list", "--repo", repo.toString()).out()).as("list's table")
                .containsPattern(id + "\\s+incr\\s+" + i1 + "\\s");

        assertThat(ClusterContent.of(s)).as("S unchanged by its backup").isEqualTo(atS);
        a.stop();
        b.stop();
        s.stop();
        CliBackups.ok("verify", "-q", "--repo", repo.toString());
        CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("r-s"), MAJOR, "--backup", id);
        assertThat(ClusterContent.proof(r.cluster())).as("restore of %s", id).isEqualTo(atS);
    }

    /**
     * A backup of S after B's promotion, before B's first checkpoint on timeline 2 ends (the one the
     * promotion asked for, spread): S follows timeline 2 but has no checkpoint there to restart at,
     * so the backup's start is its last restartpoint, on timeline 1, and its stop would be on
     * timeline 2. The full copied every file and then said "the standby moved from timeline 1 to
     * timeline 2 during the backup ... run the backup again", which failed the same way until B's
     * checkpoint ended; the incremental chose A's incremental before the fork, then "chose again" on
     * timeline 1, A's incremental after the fork, which it refused as starting after its restartpoint.
     * Both are refused at their start, saying why and what to do; once B has checkpointed, the
     * incremental builds on A's incremental before the fork and restores S's content.
     */
    @Test
    void aBackupOfAStandbyBeforeItsNewPrimarysFirstCheckpoint_isRefusedAtItsStart_andBuildsOnItsPastAfterIt() throws Exception {
        Fork fork = promoted(300_000);
        Path repo = fork.repo();
        LocalCluster b = fork.b();
        LocalCluster s = fork.s();
        assertThat(PgSupport.queryString(b, "SELECT timeline_id::text FROM pg_control_checkpoint()"))
                .as("B's promotion's checkpoint is still under way").isEqualTo("1");
        PgSupport.sql(b, "UPDATE t SET v = 'B after the fork' WHERE id BETWEEN 1 AND 300");
        Replication.awaitReplay(s, b);
        PgSupport.sql(fork.a(), "UPDATE t SET v = 'A after the fork' WHERE id % 7 = 0", "CHECKPOINT");
        String i2 = CliBackups.backupId(repo, fork.a(), "incr");
        String refusal = "the standby follows timeline 2 (its primary was promoted or replaced) but has replayed no checkpoint on it yet: "
                + "its backup would start at its last restartpoint ";

        CliRun full = Replication.whilePrimaryTicks(b, () -> CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", s.pgdata().toString(),
                "--port", CliBackups.port(s), "--type", "full"));
        assertThat(full.exitCode()).as(full.err()).isEqualTo(ErrorCode.SERVER.exitCode());
        assertThat(full.err()).contains(refusal).contains("nothing was copied").contains("run CHECKPOINT on the new primary");
        List<String> steps = new CopyOnWriteArrayList<>();
        assertThatThrownBy(() -> Replication.whilePrimaryTicks(b, () -> backup(repo, s, BackupType.INCR, steps))).isInstanceOf(PgstrataException.class)
                .hasMessageContaining(refusal);
        assertThat(steps).as("what the incr said").anyMatch(step -> step.startsWith("starting incr backup ") && step.contains(" on " + fork.i1() + " "))
                // I2 as a whole id: a backup started in I2's second is named after it with a suffix (I2's id and "_2")
                .noneMatch(step -> java.util.regex.Pattern.compile("(?<![\\w-])" + java.util.regex.Pattern.quote(i2) + "(?!\\w)").matcher(step).find()
                        || step.startsWith("copying "));

        PgSupport.sql(b, "CHECKPOINT");
        Replication.awaitReplay(s, b);
        Map<String, ContentChecksum.Result> atS = ClusterContent.of(s);
        assertThat(ClusterContent.of(fork.a())).as("A's writes after the fork are not S's").isNotEqualTo(atS);
        BackupResult incr = Replication.whilePrimaryTicks(b, () -> backup(repo, s, BackupType.INCR, new CopyOnWriteArrayList<>()));
        assertThat(incr.reference()).as("%s", incr).isEqualTo(fork.i1());
        assertThat(CliBackups.run("list", "--json", "--repo", repo.toString())).as("no other backup was kept").hasSize(4);
        fork.a().stop();
        b.stop();
        s.stop();
        CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("r-s"), MAJOR, "--backup", incr.id());
        assertThat(ClusterContent.proof(r.cluster())).as("restore of %s", incr.id()).isEqualTo(atS);
    }

    private static BackupResult backup(Path repo, LocalCluster c, BackupType type, List<String> steps) {
        return new Pgstrata(Clock.systemUTC(), RecordingProgress.atStep(steps::add), PgSupport.env())
                .backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), type, Compression.ZSTD, 2, 0, 15));
    }

    /** A streaming standby of standby {@code b} in {@code target} (a copy of its stopped data directory), started; B restarted. */
    private LocalCluster cascadingStandbyOf(LocalCluster b, Path target) throws Exception {
        int port = PgSupport.conn(b).port();
        b.stop();
        PgSupport.copyTree(b.pgdata(), target);
        b.start(port); // its postgresql.conf names A's port
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        Files.delete(target.resolve(LocalCluster.LOG_FILE)); // B's
        Files.writeString(target.resolve("postgresql.auto.conf"),
                "\nprimary_conninfo = 'host=127.0.0.1 port=" + port + " user=postgres application_name=cascading'\n", StandardOpenOption.APPEND);
        LocalCluster s = pg.track(new LocalCluster(target, b.binaries()));
        s.start(LocalCluster.freePort());
        return s;
    }
}
