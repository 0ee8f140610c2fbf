package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup copies the data directory's log/ (pgstrata's server log among it) and current_logfiles,
 * as PostgreSQL's own base backup does, and the logging collector goes on in the same files (a
 * name by weekday, Red Hat's default): a restored copy's log begins with the source's history.
 * pgstrata read all of it as the restored server's: a line of the source's past ("redo done at",
 * "database system is shut down", "No space left on device") could stand for what this start did
 * not say. Only what this start wrote is read now. (No restore was seen to report a wrong result
 * from it: the restore's own lines came last. The first test shows the reading itself.)
 */
class StaleServerLogTest extends PgTest {
    @Test
    void theLogOfAStart_holdsNothingWrittenBeforeIt() throws Exception {
        LocalCluster c = pg.start("c", 17);
        c.stop();
        Files.writeString(c.pgdata().resolve(LocalCluster.LOG_FILE), "2026-01-01 00:00:00.000 UTC [1] LOG:  No space left on device\n",
                StandardOpenOption.APPEND);
        assertThat(c.serverLogLine("No space left on device")).isNotNull();
        c.start();
        assertThat(c.serverLogLine("No space left on device")).as("a line from before this start").isNull();
        assertThat(c.serverLogLine("ready to accept connections")).as("this start's own").isNotNull();
    }

    @Test
    void aShutdownAtARestorePoint_isNotReportedAtAPositionFromTheSourcesOldLog() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        // What a source that was once a restored copy has in its log
        Files.writeString(source.pgdata().resolve(LocalCluster.LOG_FILE), "2026-01-01 00:00:00.000 UTC [1] LOG:  redo done at 0/DEADBEEF"
                + " system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s\n", StandardOpenOption.APPEND);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g", "SELECT pg_create_restore_point('p1')",
                "INSERT INTO t SELECT g FROM generate_series(2001, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-name", "p1", "--target-action",
                "shutdown", "--start", "--port", Integer.toString(LocalCluster.freePort()), "--json");
        pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode result = new ObjectMapper().readTree(r.out());
        assertThat(result.path("state").asText()).isEqualTo("shut down");
        assertThat(result.toString()).as(r.out()).doesNotContain("DEADBEEF").contains("restore point");
    }
}
