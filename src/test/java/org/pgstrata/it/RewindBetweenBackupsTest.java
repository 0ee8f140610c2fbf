package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.ContentChecksum;

/**
 * pg_rewind between backups. Primary A is backed up (full, incr), a streaming standby B is
 * promoted, and A goes on writing on its old timeline and is backed up there (incr, full, diff):
 * those backups hold pages that B never had. A is then rewound onto B with pg_rewind, follows B,
 * and is promoted when B stops. pg_rewind puts back into A, from B, every block A changed after
 * the fork, with B's page LSNs, which can be older than the start of A's backups after the fork:
 * an incremental of the rewound A that built on one of those (or compared LSNs with one) would
 * keep A's abandoned rows in its restore. The incr, diff and reverse of the rewound A build only
 * on backups in its past (B's, or A's before the fork), and every backup, older ones too,
 * restores to the content its cluster had when it was taken.
 *
 * <p>The first incremental after A's promotion was refused (exit 26, "take a full backup"): it
 * chose its reference by the timeline of the server's last checkpoint, which after pg_rewind is
 * the one before the fork on timeline 1 and stays so until the checkpoint the promotion asks for
 * ends (spread over minutes); so it took A's newest backup of timeline 1, after the fork, which
 * the check after the backup's start (on timeline 3) refused. It chooses by the timeline the
 * primary writes on.
 *
 * <p>PostgreSQL 15: the bundled binaries have no pg_rewind, so Debian's pg_rewind of 15 (which CI
 * installs with postgresql-15) runs on the bundled 15's data directories. pg_rewind refuses root,
 * so as root it runs in a user namespace, as the bundled server does.
 */
class RewindBetweenBackupsTest extends PgTest {
    private static final int MAJOR = 15;
    private static final Path PG_REWIND = Path.of("/usr/lib/postgresql/" + MAJOR + "/bin/pg_rewind");

    /** What {@link #rewoundOntoB} made: A rewound onto B and following it (both running), and the backups taken on the way. */
    record Fork(Path repo, LocalCluster a, LocalCluster b, String f1, Map<String, ContentChecksum.Result> atF1, String f2, String d2,
                Map<String, ContentChecksum.Result> atD2, String ib, Map<String, ContentChecksum.Result> atRewind) {
    }

    /**
     * Primary A backed up (full, incr); standby B promoted; A backed up after the fork (incr,
     * full, diff) and stopped; B backed up (incr) and written to; A rewound onto B with pg_rewind
     * and started as B's standby, caught up.
     */
    private Fork rewoundOntoB() throws Exception {
        // CI installs it (.ci/run: postgresql-15): a machine without it fails here rather than skip the test unseen
        assertThat(PG_REWIND).as("pg_rewind of PostgreSQL " + MAJOR + " (Debian: postgresql-15)").isExecutable();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.track(PgSupport.facade().clusterInit(dir.resolve("a"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        a.start();
        // pg_rewind reads A's own WAL back to the checkpoint before the fork: keep it in pg_wal. No
        // timed checkpoint: the one a promotion requests stays unfinished for the whole test (as it
        // does for minutes with the defaults), and so does a standby's next restartpoint.
        PgSupport.sql(a, "ALTER SYSTEM SET wal_keep_size = '1GB'", "ALTER SYSTEM SET checkpoint_timeout = '1d'", "SELECT pg_reload_conf()");
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        String f1 = CliBackups.backupId(repo, a, "full");
        Map<String, ContentChecksum.Result> atF1 = ClusterContent.of(a);
        PgSupport.sql(a, "UPDATE t SET v = 'before the fork' WHERE id % 10 = 0");
        String i1 = CliBackups.backupId(repo, a, "incr");

        LocalCluster b = StandbyBackupTest.standbyOf(pg, a, dir.resolve("b"));
        Replication.awaitReplay(b, a);
        PgSupport.sql(b, "SELECT pg_promote(true)");
        PgSupport.awaitReadWrite(b, 30);

        // A, not knowing, writes on timeline 1: pages B never had, with LSNs past the fork.
        PgSupport.sql(a, "UPDATE t SET v = 'A after the fork' WHERE id % 7 = 0", "CHECKPOINT");
        CliBackups.backupId(repo, a, "incr");
        String f2 = CliBackups.backupId(repo, a, "full");
        PgSupport.sql(a, "DELETE FROM t WHERE id % 9 = 0");
        String d2 = CliBackups.backupId(repo, a, "diff");
        Map<String, ContentChecksum.Result> atD2 = ClusterContent.of(a);
        PitrTest.waitForArchive(a);
        a.stop();

        // B writes few pages on timeline 2: most of A's changed pages come back from B as they were at the fork.
        PgSupport.sql(b, "UPDATE t SET v = 'B after the fork' WHERE id BETWEEN 1 AND 300");
        JsonNode ib = CliBackups.backup(repo, b, "incr");
        assertThat(ib.get("reference").asText()).as("%s", ib).isEqualTo(i1);
        PgSupport.sql(b, "UPDATE t SET v = 'B later' WHERE id BETWEEN 19000 AND 19100", "CHECKPOINT");

        rewind(a, b);
        a.start(LocalCluster.freePort());
        Replication.awaitReplay(a, b);
        Map<String, ContentChecksum.Result> atRewind = ClusterContent.of(b);
        assertThat(ClusterContent.of(a)).as("A rewound onto B and caught up").isEqualTo(atRewind);
        return new Fork(repo, a, b, f1, atF1, f2, d2, atD2, ib.get("id").asText(), atRewind);
    }

    @Test
    void backupsOfARewoundPrimary_buildOnItsNewPast_andEveryBackupRestoresItsOwnContent() throws Exception {
        Fork fork = rewoundOntoB();
        Path repo = fork.repo();
        LocalCluster a = fork.a();
        PitrTest.waitForArchive(fork.b());
        fork.b().stop();
        PgSupport.sql(a, "SELECT pg_promote(true)");
        PgSupport.awaitReadWrite(a, 30);

        PgSupport.sql(a, "UPDATE t SET v = 'rewound A' WHERE id % 13 = 0");
        JsonNode ia = CliBackups.backup(repo, a, "incr");
        assertThat(ia.get("reference").asText()).as("%s", ia).isEqualTo(fork.ib());
        Map<String, ContentChecksum.Result> atIa = ClusterContent.of(a);
        PgSupport.sql(a, "UPDATE t SET v = 'rewound A, later' WHERE id % 17 = 0");
        JsonNode da = CliBackups.backup(repo, a, "diff");
        assertThat(da.get("reference").asText()).as("%s (%s is of the abandoned timeline)", da, fork.f2()).isEqualTo(fork.f1());
        Map<String, ContentChecksum.Result> atDa = ClusterContent.of(a);
        PgSupport.sql(a, "UPDATE t SET v = 'rewound A, reverse' WHERE id % 19 = 0");
        String ra = CliBackups.backupId(repo, a, "reverse");
        Map<String, ContentChecksum.Result> atRa = ClusterContent.of(a);
        PitrTest.waitForArchive(a);
        a.stop();
        CliBackups.ok("verify", "-q", "--repo", repo.toString());

        // Each restore is proved by content, against the content of its cluster when the backup was taken.
        assertThat(atIa).isNotEqualTo(fork.atD2());
        provesEach(repo, Map.of(ia.get("id").asText(), atIa, da.get("id").asText(), atDa, ra, atRa, fork.d2(), fork.atD2(),
                fork.f1(), fork.atF1()));
    }

    /**
     * The rewound A backed up as B's standby, before its first restartpoint: that is still the
     * checkpoint before the fork pg_rewind left it, on timeline 1, and the incremental chose its
     * reference by it (A's newest backup of timeline 1, after the fork), then, once the backup's
     * start had made the restartpoint on timeline 2, refused it (exit 26). It chooses by the
     * newest timeline the standby has replayed onto (BackupSession.currentTimeline), and again on
     * the timeline the backup starts on should that differ.
     */
    @Test
    void backupsOfARewoundPrimaryFollowingAsStandby_buildOnItsNewPast_andRestore() throws Exception {
        Fork fork = rewoundOntoB();
        Path repo = fork.repo();
        assertThat(PgSupport.queryString(fork.a(), "SELECT timeline_id::text FROM pg_control_checkpoint()"))
                .as("the rewound standby's last restartpoint, before the fork").isEqualTo("1");
        JsonNode incr = Replication.whilePrimaryTicks(fork.b(), () -> CliBackups.backup(repo, fork.a(), "incr"));
        JsonNode diff = Replication.whilePrimaryTicks(fork.b(), () -> CliBackups.backup(repo, fork.a(), "diff"));
        assertThat(incr.get("reference").asText()).as("%s", incr).isEqualTo(fork.ib());
        assertThat(diff.get("reference").asText()).as("%s (%s is of the abandoned timeline)", diff, fork.f2()).isEqualTo(fork.f1());
        fork.a().stop();
        fork.b().stop();
        provesEach(repo, Map.of(incr.get("id").asText(), fork.atRewind(), diff.get("id").asText(), fork.atRewind()));
    }

    /**
     * advise on the rewound A as B's standby, before its first restartpoint, with --no-checkpoint:
     * it chose by the timeline of that restartpoint (1, the checkpoint before the fork pg_rewind left
     * it), so A's newest backup of timeline 1, after the fork, and refused it (exit 26, "take a full
     * backup"), though the incremental builds on B's backup. It chooses by the newest timeline the
     * standby has replayed onto, as the backup's own choice now does.
     */
    @Test
    void adviseOfARewoundPrimaryFollowingAsStandby_measuresAgainstTheBackupTheIncrementalBuildsOn() throws Exception {
        Fork fork = rewoundOntoB();
        Path repo = fork.repo();
        assertThat(restartpointTimeline(fork.a())).as("the rewound standby's last restartpoint, before the fork").isEqualTo("1");
        Advice unchecked = advise(repo, fork.a(), false);
        assertThat(restartpointTimeline(fork.a())).as("advise --no-checkpoint made no restartpoint").isEqualTo("1");
        Advice checkpointed = advise(repo, fork.a(), true);
        JsonNode incr = Replication.whilePrimaryTicks(fork.b(), () -> CliBackups.backup(repo, fork.a(), "incr"));
        fork.a().stop();
        fork.b().stop();

        assertThat(incr.get("reference").asText()).as("%s", incr).isEqualTo(fork.ib());
        assertThat(unchecked.change().sinceBackup()).as("advise --no-checkpoint").isEqualTo(fork.ib());
        assertThat(checkpointed.change().sinceBackup()).as("advise").isEqualTo(fork.ib());
        assertThat(unchecked.change().changedFiles()).as("B and A's rewind changed files since %s", fork.ib()).isPositive();
    }

    private Advice advise(Path repo, LocalCluster c, boolean checkpoint) {
        return PgSupport.facade().advise(new AdviseRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), checkpoint, 2, dir, 0.3));
    }

    private static String restartpointTimeline(LocalCluster standby) throws Exception {
        return PgSupport.queryString(standby, "SELECT timeline_id::text FROM pg_control_checkpoint()");
    }

    /** Restores each backup and proves its content (amcheck too) equal to the one given for it. */
    private void provesEach(Path repo, Map<String, Map<String, ContentChecksum.Result>> contents) throws Exception {
        for (Map.Entry<String, Map<String, ContentChecksum.Result>> e : new java.util.TreeMap<>(contents).entrySet()) {
            CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("r-" + e.getKey()), MAJOR, "--backup", e.getKey());
            assertThat(ClusterContent.proof(r.cluster())).as("restore of %s", e.getKey()).isEqualTo(e.getValue());
            r.cluster().stop();
        }
    }

    /** pg_rewind of the stopped {@code target} onto the running {@code source}, which it then follows (standby.signal, primary_conninfo). */
    private static void rewind(LocalCluster target, LocalCluster source) {
        List<String> cmd = new ArrayList<>();
        if (PgBinaries.isRoot()) {
            cmd.addAll(List.of("unshare", "-U"));
        }
        cmd.addAll(List.of(PG_REWIND.toString(), "--target-pgdata", target.pgdata().toString(), "--write-recovery-conf",
                "--source-server", "host=127.0.0.1 port=" + PgSupport.conn(source).port() + " user=postgres dbname=postgres"));
        LocalCluster.ProcessResult r = LocalCluster.ProcessResult.run(cmd, 300);
        assertThat(r.exitCode()).as("%s: %s", String.join(" ", cmd), r.output()).isZero();
    }
}
