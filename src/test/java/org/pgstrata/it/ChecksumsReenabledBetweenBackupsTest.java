package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import java.time.Clock;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Data checksums turned off with pg_checksums, a full taken, then turned on again. pg_checksums
 * --enable rewrites only the pages whose checksum is not already right: here the ones written
 * while checksums were off. The differential stored just those, yet warned that "every page
 * changed and is stored again". It says that the pages pg_checksums rewrote are stored again; the
 * differential and the reverse backup after it restore the content (ChangeDetectionTest covers an
 * incremental after a first --enable, IncrementalPropertyTest random sequences).
 */
class ChecksumsReenabledBetweenBackupsTest extends PgTest {
    private static final int MAJOR = 15; // Debian's pg_checksums must match the cluster's major

    @Test
    void checksumsOffThenOnAgain_theDiffSaysWhatItStores_andDiffAndReverseRestore() throws Exception {
        Path pgChecksums = ChangeDetectionTest.debianProgram(MAJOR, "pg_checksums");
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("c"), LocalCluster.freePort(), MAJOR, null, null));
        c.start();
        PgSupport.sql(c, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
        c.stop();
        ChangeDetectionTest.run(List.of(pgChecksums.toString(), "--disable", "-D", c.pgdata().toString()));
        c.start();
        PgSupport.sql(c, "UPDATE t SET v = 'written without checksums' WHERE id <= 2000", "CHECKPOINT");
        String full = CliBackups.backupId(repo, c, "full");
        c.stop();
        ChangeDetectionTest.run(List.of(pgChecksums.toString(), "--enable", "-D", c.pgdata().toString()));
        c.start();
        Map<String, ContentChecksum.Result> atDiff = ClusterContent.of(c);

        RecordingProgress progress = new RecordingProgress();
        BackupResult diffResult = new Pgstrata(Clock.systemUTC(), progress, PgSupport.env()).backup(new BackupRequest(repo.toString(),
                c.pgdata(), PgSupport.conn(c), BackupType.DIFF, Compression.ZSTD, 2, 0));
        assertThat(diffResult.reference()).isEqualTo(full);
        String diff = diffResult.id();
        assertThat(String.join("\n", progress.warnings())).contains("data checksums were turned on since backup " + full)
                .contains("the pages pg_checksums rewrote").doesNotContain("every page changed");

        PgSupport.sql(c, "UPDATE t SET v = 'with checksums again' WHERE id % 11 = 0");
        String reverse = CliBackups.backupId(repo, c, "reverse");
        Map<String, ContentChecksum.Result> atReverse = ClusterContent.of(c);
        c.stop();
        CliBackups.ok("verify", "-q", "--repo", repo.toString());
        for (Map.Entry<String, Map<String, ContentChecksum.Result>> p : Map.of(diff, atDiff, reverse, atReverse).entrySet()) {
            CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("r-" + p.getKey()), MAJOR, "--backup", p.getKey());
            assertThat(ClusterContent.proof(r.cluster())).as("restore of %s", p.getKey()).isEqualTo(p.getValue());
            assertThat(PgSupport.queryString(r.cluster(), "SHOW data_checksums")).isEqualTo("on");
            r.cluster().stop();
        }
    }
}
