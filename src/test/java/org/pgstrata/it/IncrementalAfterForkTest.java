package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * After a point-in-time restore back to an earlier point, promoted onto timeline 2 and archiving
 * into the same repository, an incremental took the newest backup of the repository by WAL
 * position as its reference: one of timeline 1 after the fork, not in the cluster's past, so it
 * was refused (exit 26, "take a full backup"); and after that full, the next incremental chose
 * the same timeline-1 backup again, refused again, until those backups were expired. It builds
 * on the newest backup on the cluster's own history.
 */
class IncrementalAfterForkTest extends PgTest {

    @Test
    void anIncrementalAfterAFork_buildsOnTheNewestBackupInTheClustersPast() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'first' FROM generate_series(1, 5000) g");
        CliBackups.backupId(repo, a, "full");
        PgSupport.sql(a, "UPDATE t SET v = 'second' WHERE id <= 100");
        String i1 = CliBackups.backupId(repo, a, "incr");
        PgSupport.facade().restorePoint(PgSupport.conn(a), "fork", true);
        PgSupport.sql(a, "INSERT INTO t SELECT g, 'after the fork, timeline 1' FROM generate_series(5001, 9000) g");
        CliBackups.backupId(repo, a, "full");
        PgSupport.sql(a, "UPDATE t SET v = 'third' WHERE id <= 200");
        CliBackups.backupId(repo, a, "incr");
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        PgSupport.sql(b, "UPDATE t SET v = 'timeline 2' WHERE id BETWEEN 50 AND 300");
        // advise measures against the backup the incremental will build on (it was refused, exit 26, as the incremental was)
        org.pgstrata.api.Advice advice = PgSupport.facade().advise(new org.pgstrata.api.AdviseRequest(repo.toString(), b.pgdata(),
                PgSupport.conn(b), true, 2, dir, 0.3));
        assertThat(advice.change().sinceBackup()).isEqualTo(i1);
        JsonNode incr = CliBackups.backup(repo, b, "incr");
        assertThat(incr.get("reference").asText()).as("%s", incr).isEqualTo(i1);
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.proof(b);

        String f3 = CliBackups.backupId(repo, b, "full");
        PgSupport.sql(b, "DELETE FROM t WHERE id > 4000");
        JsonNode incr2 = CliBackups.backup(repo, b, "incr");
        assertThat(incr2.get("reference").asText()).as("%s", incr2).isEqualTo(f3);
        Map<String, ContentChecksum.Result> atIncr2 = ClusterContent.proof(b);
        b.stop();

        CliBackups.Restored first = CliBackups.restore(pg, repo, dir.resolve("r1"), 17, "--backup", incr.get("id").asText());
        assertThat(ClusterContent.proof(first.cluster())).isEqualTo(atIncr);
        first.cluster().stop();
        CliBackups.Restored second = CliBackups.restore(pg, repo, dir.resolve("r2"), 17, "--backup", incr2.get("id").asText());
        assertThat(ClusterContent.proof(second.cluster())).isEqualTo(atIncr2).isNotEqualTo(atIncr);
    }

    /** The same for a reverse backup: it turns the newest full in the cluster's past into a reverse delta, not one of the old timeline. */
    @Test
    void aReverseBackupAfterAFork_convertsTheNewestFullInTheClustersPast() throws Exception {
        Path repo = dir.resolve("reverse-repo");
        LocalCluster a = pg.archiving("ra", repo);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'first' FROM generate_series(1, 5000) g");
        String f1 = CliBackups.backupId(repo, a, "full");
        Map<String, ContentChecksum.Result> atF1 = ClusterContent.proof(a);
        PgSupport.facade().restorePoint(PgSupport.conn(a), "fork", true);
        PgSupport.sql(a, "INSERT INTO t SELECT g, 'after the fork, timeline 1' FROM generate_series(5001, 9000) g");
        String f2 = CliBackups.backupId(repo, a, "full");
        PitrTest.waitForArchive(a);
        a.stop();

        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("rb"));
        PgSupport.sql(b, "UPDATE t SET v = 'timeline 2' WHERE id BETWEEN 50 AND 300");
        JsonNode reverse = CliBackups.backup(repo, b, "reverse");
        try (org.pgstrata.manifest.Repository r = org.pgstrata.manifest.Repository.open(repo.toString())) {
            assertThat(r.manifest(f1).reference()).as("what %s became", f1).isEqualTo(reverse.get("id").asText());
            assertThat(r.manifest(f2).type()).as("%s, of the old timeline", f2).isEqualTo("full");
        }
        Map<String, ContentChecksum.Result> atReverse = ClusterContent.proof(b);
        b.stop();
        CliBackups.ok("verify", "-q", "--repo", repo.toString());

        CliBackups.Restored newest = CliBackups.restore(pg, repo, dir.resolve("r-newest"), 17, "--backup", reverse.get("id").asText());
        assertThat(ClusterContent.proof(newest.cluster())).isEqualTo(atReverse);
        newest.cluster().stop();
        CliBackups.Restored old = CliBackups.restore(pg, repo, dir.resolve("r-old"), 17, "--backup", f1);
        assertThat(ClusterContent.proof(old.cluster())).isEqualTo(atF1).isNotEqualTo(atReverse);
    }
}
