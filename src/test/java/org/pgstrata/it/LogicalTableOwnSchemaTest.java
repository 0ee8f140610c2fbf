package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table of a table outside public into a new database (--create), or one
 * that lacks its schema: the schema comes with the table, from a full and from a differential.
 */
class LogicalTableOwnSchemaTest extends PgTest {

    @Test
    void tableOfAnotherSchemaRestoresIntoANewDatabase() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE SCHEMA sales", "CREATE TABLE sales.orders (id serial PRIMARY KEY, v text)",
                "INSERT INTO sales.orders (v) SELECT 'o' || g FROM generate_series(1, 30) g");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        String atFull = query(server, "shop", "SELECT string_agg(t::text, '|' ORDER BY id) FROM sales.orders t");
        LogicalSupport.sql(server, "shop", "DELETE FROM sales.orders WHERE id < 5", "UPDATE sales.orders SET v = 'x' WHERE id = 9",
                "INSERT INTO sales.orders (v) VALUES ('new')");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String atDiff = query(server, "shop", "SELECT string_agg(t::text, '|' ORDER BY id) FROM sales.orders t");

        String[][] cases = {{full, "new_full", atFull}, {diff, "new_diff", atDiff}};
        for (String[] c : cases) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", c[0], "--port", CliBackups.port(server),
                    "--to-db", c[1], "--create", "--table", "sales.orders");
            assertThat(r.exitCode()).as("restore --table sales.orders of %s said: %s", c[0], r.err().strip()).isZero();
            assertThat(query(server, c[1], "SELECT string_agg(t::text, '|' ORDER BY id) FROM sales.orders t")).as("rows from %s", c[0])
                    .isEqualTo(c[2]);
        }
        assertThat(query(server, "new_diff", "SELECT last_value::text FROM sales.orders_id_seq")).isEqualTo("31");
    }
}
