package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A copy of a data directory (cp -a, or a restore whose tablespace link was set back by hand)
 * keeps its tablespace links, which lead to the source's own tablespace location. restore
 * --delta into the copy wrote the backup's files through the link, into the tablespace of the
 * source server while it ran, with exit 0. It now refuses (exit 32), naming the server, before
 * anything changes.
 */
class DeltaRestoreTablespaceOfARunningServerTest extends PgTest {

    @Test
    void aCopysLinkIntoARunningServersTablespace_isRefused_andTheServerKeepsItsData() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path location = Files.createDirectories(dir.resolve("ts"));
        String oid = DeltaRestoreTablespaceLinkDanglingTest.spacedTable(src, location);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);

        // The copy: restored with its tablespace elsewhere, then its link set back to the source's location, as cp -a leaves it.
        Path copy = dir.resolve("copy");
        CliBackups.Restored restored = CliBackups.restore(pg, repo, copy, 17, "--backup", full, "--tablespace-map", oid + "=" + dir.resolve("ts-copy"));
        restored.cluster().stop();
        Path link = copy.resolve("pg_tblspc").resolve(oid);
        Files.delete(link);
        Files.createSymbolicLink(link, location);

        PgSupport.sql(src, "UPDATE spaced SET v = 'after the backup' WHERE id % 3 = 0");
        Map<String, ContentChecksum.Result> now = ClusterContent.of(src);
        PgSupport.sql(src, "CHECKPOINT"); // after the reads: crash recovery has nothing to replay onto these pages
        assertThat(now).as("what a write through the link would roll back").isNotEqualTo(atBackup);

        CliRun r = CliRun.run("restore", "-q", "--delta", "--repo", repo.toString(), "--to", copy.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.SERVER_RUNNING.exitCode());
        assertThat(r.errLines()).singleElement().asString().contains("pg_tblspc/" + oid).contains(location.toString())
                .contains(src.pgdata().toString()).contains("nothing was changed");
        src.stopImmediately(); // the proof reads the files: no shutdown writes back what the server holds in memory
        src.start();
        assertThat(ClusterContent.proof(src)).as("the running server's data").isEqualTo(now);
        assertThat(Files.readSymbolicLink(link)).isEqualTo(location);
    }

    /** The same with pg_wal: a copy whose pg_wal links to the running source's would have its WAL removed by the delta's clean-up. */
    @Test
    void aCopysPgWalLinkIntoARunningServersPgWal_isRefused_andItsWalStays() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, src, "full");
        Path copy = dir.resolve("copy");
        CliBackups.restore(pg, repo, copy, 17, "--backup", full).cluster().stop();
        PgSupport.deleteTree(copy.resolve("pg_wal"));
        Files.createSymbolicLink(copy.resolve("pg_wal"), src.pgdata().resolve("pg_wal"));
        PgSupport.sql(src, "CREATE TABLE after_backup AS SELECT generate_series(1, 1000) n", "SELECT pg_switch_wal()");
        java.util.List<String> wal;
        try (java.util.stream.Stream<Path> s = Files.list(src.pgdata().resolve("pg_wal"))) {
            wal = s.map(p -> p.getFileName().toString()).sorted().toList();
        }

        CliRun r = CliRun.run("restore", "-q", "--delta", "--repo", repo.toString(), "--to", copy.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.SERVER_RUNNING.exitCode());
        assertThat(r.errLines()).singleElement().asString().contains("link pg_wal").contains(src.pgdata().toString())
                .contains("nothing was changed");
        try (java.util.stream.Stream<Path> s = Files.list(src.pgdata().resolve("pg_wal"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsAll(wal);
        }
        assertThat(PgSupport.queryString(src, "SELECT count(*) FROM after_backup")).isEqualTo("1000");
    }
}
