package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A restore that fails midway removes the directories it made for --tablespace-map: NEW, and the
 * parents of NEW that did not exist before (docs/physical.md: "removes what it wrote into the
 * mapped directories, and those it made").
 */
class TablespaceMapCleanUpTest extends PgTest {

    @Test
    void aFailedRestore_removesTheParentsItMadeForAMappedDirectory() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path location = Files.createDirectory(dir.resolve("elsewhere"));
        String oid;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE TABLESPACE elsewhere LOCATION '" + location + "'");
            Db.execute(c, "CREATE TABLE t (id int PRIMARY KEY, v text) TABLESPACE elsewhere");
            Db.execute(c, "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
            oid = Db.queryString(c, "SELECT oid FROM pg_tablespace WHERE spcname = 'elsewhere'");
        }
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, source, "full");
        Path largest;
        try (var s = Files.walk(repo)) {
            largest = s.filter(Files::isRegularFile).max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(largest);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(largest, bytes);

        Path target = dir.resolve("restored");
        Path made = dir.resolve("new-parent");
        var failed = org.pgstrata.cli.CliRun.run("restore", "--repo", repo.toString(), "--backup", full, "--to", target.toString(),
                "--tablespace-map", oid + "=" + made.resolve("a").resolve("ts"), "--jobs", "1");
        assertThat(failed.exitCode()).as(failed.err()).isEqualTo(15);
        assertThat(target).doesNotExist();
        assertThat(made).as("a parent the restore made for the mapped directory").doesNotExist();
    }
}
