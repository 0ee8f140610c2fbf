package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --logical --table of one partition, with --clean, into a database that has its
 * partitioned parent (a partition's rows put back in place): the old partition was dropped and
 * the restored one created as a table on its own, never attached (pg_dump writes the ATTACH as
 * an entry of its own, which was left out). The restore said it had succeeded (exit 0), the
 * parent had lost the partition's rows, and an INSERT of such a row into the parent failed ("no
 * partition of relation found for row"). The partition is attached again when the parent is there.
 */
class LogicalTablePartitionInPlaceTest extends PgTest {
    @Test
    void partitionRestoredWithClean_intoADatabaseWithItsParent_isAttachedAgain() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE TABLE orders (region text, id int, v text, PRIMARY KEY (region, id)) PARTITION BY LIST (region)",
                "CREATE INDEX orders_v ON orders (v)",
                "CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu')", "CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us')",
                "INSERT INTO orders SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g, 'v' || g FROM generate_series(1, 100) g");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        ContentChecksum.Result atFull = LogicalSupport.proof(server, "shop");
        LogicalSupport.sql(server, "shop", "UPDATE orders SET region = 'eu' WHERE id = 1", "DELETE FROM orders WHERE id = 2",
                "UPDATE orders SET v = 'changed' WHERE id = 4");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        ContentChecksum.Result atDiff = LogicalSupport.proof(server, "shop");

        for (Object[] point : new Object[][] {{full, atFull}, {diff, atDiff}}) {
            String id = (String) point[0];
            String db = "copy_" + id.substring(id.length() - 2).toLowerCase();
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", db);
            assertThat(r.exitCode()).as(r.err()).isZero();
            LogicalSupport.sql(server, db, "DELETE FROM orders WHERE region = 'eu'");
            r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", db, "--table", "orders_eu", "--clean");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(server, db, "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
                    + "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'orders'::regclass")).as("partitions of orders after restoring " + id)
                    .isEqualTo("orders_eu,orders_us");
            assertThat(query(server, db, "SELECT count(*) FROM pg_inherits WHERE inhparent IN ('orders_pkey'::regclass, 'orders_v'::regclass)"))
                    .as("partitions' indexes attached to the parent's").isEqualTo("4");
            assertThat(query(server, db, "SELECT count(*) FROM orders WHERE region = 'eu'")).as("rows of orders in eu")
                    .isEqualTo(query(server, db, "SELECT count(*) FROM ONLY orders_eu"));
            assertThat(LogicalSupport.proof(server, db)).as("content after restoring orders_eu of " + id).isEqualTo(point[1]);

            // a database without the parent gets the partition as a table on its own, as before
            String alone = "alone_" + id.substring(id.length() - 2).toLowerCase();
            PgSupport.sql(server, "CREATE DATABASE " + alone);
            r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", alone, "--table", "orders_eu");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(LogicalSupport.proof(server, alone).tables())
                    .containsExactlyElementsOf(((ContentChecksum.Result) point[1]).tables().stream().filter(t -> t.table().equals("public.orders_eu")).toList());
        }
    }
}
