package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A transaction prepared for two-phase commit (an XA transaction manager's, say) that is open at
 * the backup's point is open in every restored copy, with the locks it took: a drill's checks
 * waited for a table it locked (verify_heapam takes a share lock), for ever, since the copy's
 * sessions have no lock timeout and nothing in the copy ever finishes that transaction. The
 * drill rolls such transactions back in its scratch copy and says so; the source keeps them.
 */
class DrillPreparedTransactionTest extends PgTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aPreparedTransactionHoldingALock_doesNotHangTheDrill_whichPasses() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "ALTER SYSTEM SET max_prepared_transactions = 4");
        source.stop();
        source.start();
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g", "CREATE TABLE locked (id int PRIMARY KEY)",
                "INSERT INTO locked VALUES (1), (2)");
        try (Connection c = PgSupport.connect(source)) {
            c.setAutoCommit(false);
            Db.execute(c, "INSERT INTO t VALUES (5000, 'prepared')");
            Db.execute(c, "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
            Db.execute(c, "PREPARE TRANSACTION 'xa ''1'' \\ ü'");
            c.setAutoCommit(true);
        }
        Path repo = dir.resolve("repo");
        String id = CliBackups.backupId(repo, source, "full");

        Path log = dir.resolve("drill.log");
        Process child = ChildCli.startLogged(Map.of(), log, "drill", "-q", "--json", "--repo", repo.toString(), "--scratch-dir",
                dir.resolve("scratch").toString());
        if (!child.waitFor(150, TimeUnit.SECONDS)) {
            child.destroy(); // SIGTERM: its shutdown hook stops and removes the copy
            child.waitFor(60, TimeUnit.SECONDS);
            throw new AssertionError("the drill did not end within 150 s; it said: " + Files.readString(log));
        }
        String out = Files.readString(log);
        assertThat(child.exitValue()).as(out).isZero();
        JsonNode record = JSON.readTree(out.substring(out.indexOf('{')));
        assertThat(record.path("backupId").asText()).isEqualTo(id);
        assertThat(record.path("findings")).as(out).isEmpty();
        assertThat(record.path("checks").toString()).as(out).contains("rolled back 1 prepared transaction").contains("xa '1' \\\\ ü (database postgres)");
        assertThat(PgSupport.queryString(source, "SELECT string_agg(gid, ',') FROM pg_prepared_xacts"))
                .as("the source keeps its prepared transaction").isEqualTo("xa '1' \\ ü");
    }
}
