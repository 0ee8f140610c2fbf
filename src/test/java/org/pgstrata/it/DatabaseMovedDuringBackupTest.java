package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * An ALTER DATABASE ... SET TABLESPACE run while a backup copies the database's directory:
 * the server copies the directory to the tablespace and then deletes the old one, so the backup
 * finds most of the old files gone. Recovery replays the move by copying the old directory as
 * the backup holds it, and the restored database was missing its files (PG_VERSION among them:
 * nobody could connect to it), though the restore reported success. The backup now fails and
 * keeps nothing; a rerun backs the database up where it is now.
 */
class DatabaseMovedDuringBackupTest extends PgTest {

    @Test
    void aDatabaseMovedWhileItIsCopied_failsTheBackup_andARerunRestoresIt() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path location = Files.createDirectory(dir.resolve("ts"));
        PgSupport.sql(source, "CREATE TABLESPACE ts LOCATION '" + location + "'", "CREATE DATABASE moved");
        try (Connection c = Db.connect(PgSupport.conn(source).withDbname("moved")); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE m AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        }
        Path repo = dir.resolve("repo");
        Path resume = dir.resolve("resume");
        // One copying thread, paused after the first (largest) file: the database's directory is not read yet.
        Process backup = ChildCli.start(Map.of("PGSTRATA_TEST_PAUSE_AFTER_FILES", "1", "PGSTRATA_TEST_RESUME_FILE", resume.toString()),
                List.of(), "backup", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source),
                "--jobs", "1", "--type", "full");
        try {
            ChildCli.awaitLine(backup, "test hook: pausing", 120);
            PgSupport.sql(source, "ALTER DATABASE moved SET TABLESPACE ts");
            Files.createFile(resume);
            assertThat(backup.waitFor(120, TimeUnit.SECONDS)).isTrue();
        } finally {
            ChildCli.kill(backup);
        }
        Map<String, org.pgstrata.demo.ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        assertThat(sourceContent).containsKey("moved");
        if (backup.exitValue() == 0) {
            // A backup that was kept must restore the moved database whole.
            CliBackups.Restored kept = CliBackups.restore(pg, repo, dir.resolve("kept"), 17);
            assertThat(ClusterContent.proof(kept.cluster())).as("the restore of the backup kept").isEqualTo(sourceContent);
        }
        assertThat(backup.exitValue()).as("the backup of a database moved while it was copied").isEqualTo(36);

        // A rerun copies the database where it is now, and its copy restores with the source's content
        String id = CliBackups.backupId(repo, source, "full");
        CliBackups.Restored restored = CliBackups.restore(pg, repo, dir.resolve("copy"), 17, "--backup", id);
        assertThat(ClusterContent.proof(restored.cluster())).isEqualTo(sourceContent);
    }
}
