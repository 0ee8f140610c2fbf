package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.fs.FileStorage;

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
        LocalCluster old = clusterWithTable(16, "old", location, "kept", 2000);

        LocalCluster src = clusterWithTable(17, "src", location, "spaced", 3000);
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

        deltaRestoreAndStart(repo, src, full);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);

        assertThat(location.resolve(oldVersionDir)).isDirectory();
        old.start();
        assertThat(ClusterContent.proof(old)).as("the PostgreSQL 16 cluster sharing the location").isEqualTo(oldNow);
    }

    /**
     * A backup taken before backups left another major version's directory out lists that
     * cluster's files: a delta restore of it writes none of them. (The manifest is edited to list,
     * under the other cluster's directory, a file with this cluster's content, as such a backup
     * would list that cluster's own older content.)
     */
    @Test
    void aBackupListingTheOtherVersionsFiles_deltaRestoreWritesNoneOfThem() throws Exception {
        Path location = Files.createDirectories(dir.resolve("shared-ts"));
        LocalCluster old = clusterWithTable(16, "old", location, "kept", 2000);
        String kept = PgSupport.queryString(old, "SELECT pg_relation_filepath('kept')");
        Map<String, ContentChecksum.Result> oldNow = ClusterContent.of(old);
        old.stop();

        LocalCluster src = clusterWithTable(17, "src", location, "spaced", 3000);
        String spaced = PgSupport.queryString(src, "SELECT pg_relation_filepath('spaced')");
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        src.stop();

        // pg_tblspc/OID17/PG_16_.../DB/REL: the 16 cluster's relation file, as seen through the 17 cluster's link.
        String tablespace17 = spaced.split("/")[1];
        String inOld = "pg_tblspc/" + tablespace17 + "/" + kept.split("/", 3)[2];
        assertThat(src.pgdata().resolve(inOld)).isRegularFile();
        try (Repository r = Repository.on(new FileStorage(repo))) {
            Manifest m = r.manifest(full);
            List<FileEntry> files = new ArrayList<>(m.files());
            FileEntry f = files.stream().filter(e -> e.path().equals(spaced)).findFirst().orElseThrow();
            files.add(new FileEntry(inOld, f.size(), f.mode(), f.checksum(), f.source(), f.reference(), f.object(), f.blocks(),
                    f.pagesChecksum()));
            r.writeManifest(new Manifest(m.formatVersion(), m.id(), m.type(), m.reference(), m.systemIdentifier(), m.pgVersionNum(),
                    m.timeline(), m.startLsn(), m.stopLsn(), m.startTime(), m.stopTime(), m.compression(), m.backupLabel(), m.tablespaceMap(),
                    m.directories(), files, m.wal(), m.dataBytes(), m.repositoryBytes(), m.pgstrataVersion(), m.walSource(),
                    m.dataChecksums(), m.blockMap(), m.externalConfig(), m.changeSource(), m.lineage()));
        }

        deltaRestoreAndStart(repo, src, full);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        old.start();
        assertThat(ClusterContent.proof(old)).as("the PostgreSQL 16 cluster sharing the location").isEqualTo(oldNow);
    }

    /** A cluster of major version {@code major} with a tablespace at {@code location} holding {@code table} of {@code rows} rows. */
    private LocalCluster clusterWithTable(int major, String name, Path location, String table, int rows) throws Exception {
        LocalCluster c = pg.start(name, major);
        PgSupport.sql(c, "CREATE TABLESPACE ts LOCATION '" + location + "'",
                "CREATE TABLE " + table + " (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO " + table + " SELECT g, md5(g::text) FROM generate_series(1, " + rows + ") g", "CHECKPOINT");
        return c;
    }

    private static void deltaRestoreAndStart(Path repo, LocalCluster to, String expectedBackup) throws Exception {
        JsonNode r = CliBackups.run("restore", "-q", "--json", "--delta", "--repo", repo.toString(), "--to", to.pgdata().toString(),
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.get("backupId").asText()).isEqualTo(expectedBackup);
    }
}
