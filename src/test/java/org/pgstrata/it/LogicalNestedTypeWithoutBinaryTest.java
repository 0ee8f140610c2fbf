package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A table with one integer key is read as COPY's binary rows when every column's type can be
 * sent in binary. A composite type, an array of one or a range is sent by its parts' send
 * functions, and isn's ean13 (as aclitem, seg ...) has none: a column of such a type passed the
 * check on its own send function, and every logical full of the database stopped (exit 19, "no
 * binary output function available for type public.ean13"). Such a table is read as text.
 */
class LogicalNestedTypeWithoutBinaryTest extends PgTest {
    @Test
    void compositeAndRangeOfATypeWithoutBinaryOutput_areBackedUpAndRestored() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE EXTENSION isn", "CREATE TYPE product AS (name text, code ean13)",
                "CREATE TYPE eanrange AS RANGE (subtype = ean13)", "CREATE DOMAIN checked_product AS product CHECK ((VALUE).name <> '')",
                "CREATE TABLE one (id int PRIMARY KEY, p product)",
                "INSERT INTO one SELECT g, ROW('p' || g, '978-0-306-40615-7')::product FROM generate_series(1, 30) g",
                "CREATE TABLE many (id bigint PRIMARY KEY, ps product[])",
                "INSERT INTO many SELECT g, ARRAY[ROW('p', '978-0-306-40615-7')::product] FROM generate_series(1, 30) g",
                "CREATE TABLE ranged (id int PRIMARY KEY, r eanrange)",
                "INSERT INTO ranged SELECT g, eanrange('978-0-306-40615-7', NULL) FROM generate_series(1, 30) g",
                "CREATE TABLE domained (id int PRIMARY KEY, d checked_product)",
                "INSERT INTO domained SELECT g, ROW('p', '978-0-306-40615-7')::checked_product FROM generate_series(1, 30) g");
        CliRun full = CliRun.run("backup", "--logical", "--repo", repo.toString(), "--type", "full", "--port", CliBackups.port(server),
                "-d", "postgres");
        assertThat(full.exitCode()).as(full.err().strip()).isZero();
        PgSupport.sql(server, "UPDATE one SET p = ROW('changed', NULL)::product WHERE id = 3", "DELETE FROM many WHERE id = 4",
                "UPDATE ranged SET id = 100 WHERE id = 5", "UPDATE domained SET d = ROW('q', NULL)::checked_product WHERE id = 6");
        CliRun diff = LogicalSupport.differentialRestored(server, repo);
        assertThat(diff.out()).contains("(4 as changes: 3 rows changed, 2 deleted; 0 whole");
    }
}
