package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Two clusters of different major versions may share a tablespace location (pg_upgrade's old and
 * new clusters do; each has its own PG_major_catversion directory there). A backup of one takes
 * only its own version directory, as PostgreSQL's base backup does, and a delta restore of it
 * leaves the other cluster's directory alone: it neither removes what that cluster wrote since
 * the backup nor rolls its files back.
 */
class DeltaRestoreSharedTablespaceLocationTest extends PgTest {

    @Test
    void deltaRestore_leavesAnotherMajorVersionsDirectoryInTheLocationAlone() throws Exception {
        Path location = Files.createDirectories(dir.resolve("shared-ts"));
        LocalCluster old = pg.start("old", 16);
        PgSupport.sql(old, "CREATE TABLESPACE ts LOCATION '" + location + "'",
                "CREATE TABLE kept (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO kept SELECT g, md5(g::text) FROM generate_series(1, 2000) g", "CHECKPOINT");

        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "CREATE TABLESPACE ts LOCATION '" + location + "'",
                "CREATE TABLE spaced (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO spaced SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        PgSupport.sql(src, "UPDATE spaced SET v = 'changed' WHERE id % 3 = 0");
        src.stop();

        // The other cluster goes on after the backup: a new table in its version directory, rows changed in the old one.
        PgSupport.sql(old, "CREATE TABLE later (id int PRIMARY KEY) TABLESPACE ts", "INSERT INTO later SELECT generate_series(1, 500)",
                "UPDATE kept SET v = 'after the backup' WHERE id % 2 = 0", "CHECKPOINT");
        Map<String, ContentChecksum.Result> oldNow = ClusterContent.of(old);
        old.stop();
        String oldVersionDir;
        try (Stream<Path> s = Files.list(location)) {
            oldVersionDir = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("PG_16_")).findFirst().orElseThrow();
        }

        JsonNode r = CliBackups.run("restore", "-q", "--json", "--delta", "--repo", repo.toString(), "--to", src.pgdata().toString(),
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.get("backupId").asText()).isEqualTo(full);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);

        assertThat(location.resolve(oldVersionDir)).isDirectory();
        old.start();
        assertThat(ClusterContent.proof(old)).as("the PostgreSQL 16 cluster sharing the location").isEqualTo(oldNow);
    }
}
