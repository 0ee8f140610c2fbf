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
 * A CREATE TABLESPACE run while a backup is taken, restored with --delta into an existing copy
 * on the source's machine: the backup's own WAL, replayed from pg_wal, creates the tablespace at
 * the source's location, as for a restore into a new directory, which is refused. The delta
 * restore must refuse it too, and leave the copy unable to start (a manual start would replay it).
 */
class TablespaceCreatedDuringBackupDeltaTest extends PgTest {

    @Test
    void deltaRestore_ofABackupThatCreatedATablespace_isRefusedLikeAFullOne() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, source, "full");
        // An earlier copy of the source, on the same machine, stopped: the delta restore's target
        Path copy = dir.resolve("copy");
        LocalCluster earlier = CliBackups.restore(pg, repo, copy, 17).cluster();
        earlier.stop();

        Path location = Files.createDirectory(dir.resolve("during ts"));
        TablespaceCreatedAfterBackupTest.backupDuringCreateTablespace(source, repo, location, dir.resolve("resume"), "--type", "full");
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, String> sourceFiles = PgSupport.snapshot(location);

        CliRun r = CliRun.run("restore", "--delta", "--repo", repo.toString(), "--to", copy.toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        if (r.exitCode() == 0) {
            // What the copy can now do to the source: its DROP TABLE removes the source's file
            PgSupport.sql(pg.trackRestored(copy, 17), "DROP TABLE lt", "CHECKPOINT");
        }
        assertThat(ClusterContent.of(source)).as("the source's content after the restore").isEqualTo(sourceContent);
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(34);
        assertThat(r.errLines()).singleElement().asString()
                .contains("its own WAL", "creates tablespace", location.toString(), "holds another cluster's tablespace", "will not start");
        try (var links = Files.list(copy.resolve("pg_tblspc"))) {
            assertThat(links.toList()).as("the copy's tablespace links").isEmpty();
        }
        // The copy does not start by hand either: it would replay the creation
        assertThat(copy.resolve("global/pg_control")).doesNotExist();
    }

    /** In place, into the source's own directory (stopped): the location is the cluster's own, and the delta restore works. */
    @Test
    void deltaRestoreInPlace_ofABackupThatCreatedATablespace_restores() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        Path location = Files.createDirectory(dir.resolve("during ts"));
        TablespaceCreatedAfterBackupTest.backupDuringCreateTablespace(source, repo, location, dir.resolve("resume"));
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(source);
        source.stop();

        CliRun r = CliRun.run("restore", "--delta", "--repo", repo.toString(), "--to", source.pgdata().toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.err()).isZero();
        LocalCluster restored = pg.trackRestored(source.pgdata(), 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(atBackup);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
    }
}
