package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * --tablespace-map takes OLD=NEW "as pg_basebackup -T takes it; '\=' for an '=' in it": pg_basebackup
 * reads '\=' as '=' in NEW too, so NEW "/x/a\=b" is directory "/x/a=b", not one named with a backslash.
 */
class TablespaceMapEscapedNewTest extends PgTest {

    @Test
    void anEscapedEqualsInNew_isAnEquals() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String oid = TablespaceRestoreTest.tablespaceWithATable(source, Files.createDirectory(dir.resolve("elsewhere")));
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, source, "full");
        Path target = dir.resolve("restored");
        var r = org.pgstrata.cli.CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", target.toString(),
                "--tablespace-map", oid + "=" + dir + "/a\\=b");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.readSymbolicLink(target.resolve("pg_tblspc").resolve(oid))).isEqualTo(dir.resolve("a=b"));
        assertThat(dir.resolve("a\\=b")).doesNotExist();
    }
}
