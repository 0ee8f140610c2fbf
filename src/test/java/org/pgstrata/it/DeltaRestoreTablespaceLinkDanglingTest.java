package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A tablespace whose link in pg_tblspc leads nowhere (its file system is not mounted): a delta
 * restore refuses before it changes anything, instead of removing the link and putting the
 * tablespace inside the data directory, on the data directory's disk, without a word. Once the
 * location is back, the same restore brings the cluster to the backup's point through the link.
 */
class DeltaRestoreTablespaceLinkDanglingTest extends PgTest {

    @Test
    void linkToAMissingLocation_refusedWithNothingChanged_thenRestoredThroughItOnceBack() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path location = Files.createDirectories(dir.resolve("disk2/ts"));
        String oid = DeltaRestoreTablespaceLinkDanglingTest.spacedTable(src, location);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        PgSupport.sql(src, "UPDATE spaced SET v = 'changed' WHERE id % 3 = 0");
        src.stop();

        Path unmounted = dir.resolve("disk2-unmounted");
        Files.move(dir.resolve("disk2"), unmounted);
        Path link = src.pgdata().resolve("pg_tblspc").resolve(oid);
        CliRun refused = CliRun.run("restore", "-q", "--delta", "--repo", repo.toString(), "--to", src.pgdata().toString());
        assertThat(refused.exitCode()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
        assertThat(refused.errLines()).singleElement().asString().contains("pg_tblspc/" + oid + " leads to " + location)
                .contains("which is not a directory; nothing was changed").contains("hint: mount the file system");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.readSymbolicLink(link)).isEqualTo(location);
        assertThat(src.pgdata().resolve("global/pg_control")).exists();

        Files.move(unmounted, dir.resolve("disk2"));
        JsonNode r = CliBackups.run("restore", "-q", "--json", "--delta", "--repo", repo.toString(), "--to", src.pgdata().toString(),
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.get("backupId").asText()).isEqualTo(full);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        assertThat(Files.readSymbolicLink(link)).isEqualTo(location);
    }

    /** Creates tablespace ts at {@code location} in {@code c}, with table spaced (3000 rows) in it; returns the tablespace's OID. */
    static String spacedTable(LocalCluster c, Path location) throws Exception {
        PgSupport.sql(c, "CREATE TABLESPACE ts LOCATION '" + location + "'",
                "CREATE TABLE spaced (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO spaced SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        return PgSupport.queryString(c, "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
    }
}
