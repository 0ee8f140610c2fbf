package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --logical --clean replaced the existing database by DROP DATABASE, then renamed the
 * restored one into its place: killed while the DROP ran (it waits for locks, and removes every
 * file of a large database), it left no database under the name, the restored copy under a
 * temporary name that the next logical restore removes as an interrupted restore's leftover.
 * Killed at any point, the name must hold the old database or the restored one.
 */
class LogicalCleanKilledWhileReplacingTest extends PgTest {

    @Test
    void killedWhileReplacing_theNameHoldsTheOldOrTheRestoredDatabase() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        ContentChecksum.Result backedUp = LogicalSupport.proof(source, "shop");
        CliBackups.logicalRestore(repo, source, id, "target");
        LogicalSupport.sql(source, "target", "INSERT INTO t VALUES (2, 'only in the old target')");
        ContentChecksum.Result old = LogicalSupport.proof(source, "target");

        // a session holding a lock on database target keeps the restore waiting where it replaces it
        try (Connection blocker = PgSupport.connect(source)) {
            blocker.setAutoCommit(false);
            Db.execute(blocker, "COMMENT ON DATABASE target IS 'held'");
            Process child = ChildCli.start(Map.of(), List.of(), "restore", "--logical", "--repo", repo.toString(), "--backup", id,
                    "--port", CliBackups.port(source), "--to-db", "target", "--clean");
            try {
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (!"1".equals(PgSupport.queryString(source, "SELECT count(*) FROM pg_stat_activity "
                        + "WHERE application_name = 'pgstrata logical restore' AND wait_event_type = 'Lock'"))) {
                    assertThat(child.isAlive()).as("the restore waits for the lock on database target").isTrue();
                    assertThat(System.nanoTime()).as("the restore reached the replacement within 120 s").isLessThan(deadline);
                    Thread.sleep(50);
                }
            } finally {
                ChildCli.kill(child);
            }
            blocker.rollback();
        }
        // the killed restore's session ends its statement and goes
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"0".equals(PgSupport.queryString(source, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgstrata logical restore'"))) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(50);
        }

        assertThat(LogicalSupport.databaseExists(source, "target")).as("database target after the kill").isTrue();
        assertThat(LogicalSupport.proof(source, "target")).isIn(old, backedUp);

        CliRun again = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source),
                "--to-db", "target", "--clean");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(LogicalSupport.proof(source, "target")).isEqualTo(backedUp);
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
    }
}
