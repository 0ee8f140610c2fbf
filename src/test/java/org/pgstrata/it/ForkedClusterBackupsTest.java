package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster brought back by a point-in-time restore and promoted onto timeline 2, backed up into
 * the same repository (diff, incr, reverse) and restored, each backup and a transaction of the
 * abandoned timeline 1 after the fork (--target-timeline 1), proven by content and amcheck.
 *
 * <p>PostgreSQL hands out again on timeline 2 the transaction ids that timeline 1 used after the
 * fork. restore --target-xid of timeline 1's transaction (the mistake the restore undid, its id
 * read from that timeline's logs) followed the latest timeline, stopped at timeline 2's
 * transaction of the same id, and said nothing of the other (exit 0). It now warns, naming the
 * other timeline's transaction and the --target-timeline that reaches it.
 */
class ForkedClusterBackupsTest extends PgTest {

    /** Runs {@code sql} in a transaction of its own and commits it; the transaction's id. */
    static String commit(LocalCluster c, String sql) throws Exception {
        try (Connection conn = PgSupport.connect(c); Statement st = conn.createStatement()) {
            conn.setAutoCommit(false);
            st.execute(sql);
            String xid;
            try (ResultSet rs = st.executeQuery("SELECT pg_current_xact_id()::text")) {
                rs.next();
                xid = rs.getString(1);
            }
            conn.commit();
            return xid;
        }
    }

    @Test
    void everyBackupTypeOnTimeline2_andTargetsOnBothTimelines() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'first' FROM generate_series(1, 5000) g");
        String f1 = CliBackups.backupId(repo, a, "full");
        PgSupport.facade().restorePoint(PgSupport.conn(a), "fork", true);
        String tl1 = commit(a, "INSERT INTO t SELECT g, 'after the fork, timeline 1' FROM generate_series(5001, 9000) g");
        Map<String, ContentChecksum.Result> atTl1 = ClusterContent.of(a);
        commit(a, "UPDATE t SET v = 'later on timeline 1' WHERE id <= 300");
        String onlyOnTl1 = null;
        for (int i = 0; i < 20; i++) { // more transactions than timeline 2 runs: the last id is never handed out there
            onlyOnTl1 = commit(a, "SELECT 1");
        }
        CliBackups.backupId(repo, a, "full"); // on timeline 1 after the fork: the diff of timeline 2 must not build on it
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        String firstOnTl2 = commit(b, "UPDATE t SET v = 'timeline 2' WHERE id BETWEEN 50 AND 300");
        JsonNode diff = CliBackups.backup(repo, b, "diff");
        assertThat(diff.get("reference").asText()).as("%s", diff).isEqualTo(f1);
        Map<String, ContentChecksum.Result> atDiff = ClusterContent.of(b);
        commit(b, "INSERT INTO t SELECT g, 'timeline 2 rows' FROM generate_series(20001, 23000) g");
        commit(b, "DELETE FROM t WHERE id < 1000");
        JsonNode incr = CliBackups.backup(repo, b, "incr");
        assertThat(incr.get("reference").asText()).as("%s", incr).isEqualTo(diff.get("id").asText());
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(b);
        commit(b, "UPDATE t SET v = 'before the reverse' WHERE id BETWEEN 1000 AND 1500");
        JsonNode reverse = CliBackups.backup(repo, b, "reverse");
        Map<String, ContentChecksum.Result> atReverse = ClusterContent.of(b);
        commit(b, "UPDATE t SET v = 'after everything' WHERE id BETWEEN 2000 AND 2500");
        PitrTest.waitForArchive(b);
        try (Connection conn = PgSupport.connect(b); Statement st = conn.createStatement()) {
            st.execute("SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(b);
        b.stop();
        CliBackups.ok("verify", "-q", "--repo", repo.toString());

        int n = 0;
        for (Object[] c : new Object[][] {{atDiff, new String[] {"--backup", diff.get("id").asText()}},
                {atIncr, new String[] {"--backup", incr.get("id").asText()}},
                {atReverse, new String[] {"--backup", reverse.get("id").asText()}},
                {atTl1, new String[] {"--target-timeline", "1", "--target-xid", tl1}}}) {
            CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("r" + n++), 17, (String[]) c[1]);
            assertThat(ClusterContent.proof(r.cluster())).as("%s: %s", String.join(" ", (String[]) c[1]), r.result()).isEqualTo(c[0]);
            r.cluster().stop();
        }

        // The transaction of timeline 1 after the fork, by its id along the latest timeline: PostgreSQL gave timeline 2's first
        // transaction the same id, and recovery stops there, at timeline 2's content (with exit 0 and no word of timeline 1's).
        assertThat(firstOnTl2).as("the id handed out again on timeline 2").isEqualTo(tl1);
        // in a process of its own: warnings go to its stderr
        ChildCli.Finished run = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--to", dir.resolve("rx").toString(),
                "--repo", repo.toString(), "--target-xid", tl1, "--start", "--port", Integer.toString(LocalCluster.freePort()));
        LocalCluster x = pg.trackRestored(dir.resolve("rx"), 17);
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output().lines().filter(l -> l.startsWith("pgstrata: warning: ")).toList()).as(run.output()).singleElement().asString()
                .contains("transaction " + tl1 + " also committed on timeline 1").contains("pass --target-timeline 1");
        assertThat(ClusterContent.proof(x)).isEqualTo(atDiff).isNotEqualTo(atTl1);
        x.stop();

        // A transaction that ended only on timeline 1 after the fork is in the archive, off the latest timeline's way: refused
        // before anything is written, naming where it is and the --target-timeline that reaches it (not "check the id").
        org.pgstrata.cli.CliRun off = org.pgstrata.cli.CliRun.run("restore", "-q", "--to", dir.resolve("ry").toString(), "--repo",
                repo.toString(), "--target-xid", onlyOnTl1);
        assertThat(off.exitCode()).as(off.err()).isEqualTo(org.pgstrata.api.ErrorCode.TARGET_UNREACHABLE.exitCode());
        assertThat(off.errLines()).as(off.err()).singleElement().asString()
                .contains("transaction " + onlyOnTl1).contains("committed on timeline 1").endsWith("hint: pass --target-timeline 1");
        assertThat(dir.resolve("ry")).doesNotExist();
    }
}
