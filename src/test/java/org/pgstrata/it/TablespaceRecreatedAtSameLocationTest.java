package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A tablespace dropped and created again at the same location, after the backup, restored on a
 * machine where that location is empty. Recovery creates the first one there itself; when it
 * fetches the segment with the DROP and the second CREATE, the version directory it finds is its
 * own (pg_tblspc links to it, under the first tablespace's OID), not another cluster's. It was
 * refused, as if it were another cluster's, because only the second OID's link was looked at.
 */
class TablespaceRecreatedAtSameLocationTest extends PgTest {

    @Test
    void aTablespaceDroppedAndCreatedAgainAtTheSameLocation_restoresWhereTheLocationIsEmpty() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        CliBackups.backupId(repo, source, "full");
        Path location = Files.createDirectory(dir.resolve("ts"));
        PgSupport.sql(source, "CREATE TABLESPACE first LOCATION '" + location + "'",
                "CREATE TABLE filler AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 60000) g", "SELECT pg_switch_wal()"); // more WAL than recovery decodes ahead
        PgSupport.sql(source, "DROP TABLESPACE first", "CREATE TABLESPACE second LOCATION '" + location + "'",
                "CREATE TABLE lt TABLESPACE second AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        // Another machine, where the location is empty: here, the source gone and its tablespace directory with it
        source.stop();
        try (var s = Files.walk(location)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(location)) {
                    Files.delete(p);
                }
            }
        }

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target", "latest", "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        if (Files.isRegularFile(copy.resolve("PG_VERSION"))) {
            pg.trackRestored(copy, 17);
        }
        assertThat(r.exitCode()).as(r.err()).isZero();
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(sourceContent);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
    }
}
