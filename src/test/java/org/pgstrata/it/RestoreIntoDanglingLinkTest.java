package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * --to names a symbolic link whose directory does not exist yet (a data directory linked to a
 * disk not yet prepared, or not mounted). The restore failed after choosing the backup with
 * "restore into LINK failed: LINK" (the Java exception's bare path), said "nothing was left
 * there" and, cleaning up, removed the user's link. It is refused before anything is written,
 * naming where the link leads, and the link stays; once that directory exists, the restore goes
 * through the link.
 */
class RestoreIntoDanglingLinkTest extends PgTest {

    @Test
    void aLinkToAMissingDirectory_isRefusedWithWhereItLeads_andKept() throws Exception {
        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        src.stop();

        Path disk = dir.resolve("disk").resolve("pgdata");
        Path link = Files.createSymbolicLink(dir.resolve("main"), disk);
        ChildCli.Finished r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--repo", repo.toString(), "--to", link.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(ErrorCode.TARGET_NOT_EMPTY.exitCode());
        assertThat(r.output().strip()).startsWith("pgstrata: error: cannot restore").contains(link + " is a symbolic link to " + disk)
                .contains("which does not exist").doesNotContain("\n");
        assertThat(Files.isSymbolicLink(link)).as("the user's link is kept").isTrue();
        assertThat(Files.exists(disk.getParent())).isFalse();

        Files.createDirectories(disk);
        r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--repo", repo.toString(), "--to", link.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        LocalCluster restored = pg.trackRestored(link, 17);
        assertThat(ClusterContent.proof(restored)).isEqualTo(atBackup);
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.exists(disk.resolve("PG_VERSION"))).isTrue();
    }
}
