package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A differential loads the full's rows into its own schema before it applies the changes. A
 * composite type that a column uses (a CREATE TYPE ... AS, or another table's row type) whose
 * attributes were added or dropped since the full reads the full's rows no more ("malformed
 * record literal: too many columns"), though the column's type name is the same: the differential
 * was reported complete, and its restore, whole or --table, failed (exit 30). Such a table is
 * stored whole, as one whose enum labels changed is.
 */
class LogicalCompositeTypeChangedTest extends PgTest {
    @Test
    void compositeTypeChangedSinceTheFull_tableStoredWhole_andTheDifferentialRestores() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TYPE pair AS (a int, b text)", "CREATE TYPE tri AS (a int, b text)",
                "CREATE TABLE item (id int PRIMARY KEY, v text)",
                "CREATE TABLE shrunk (id int PRIMARY KEY, p pair)",
                "INSERT INTO shrunk SELECT g, ROW(g, 'x' || g)::pair FROM generate_series(1, 50) g",
                "CREATE TABLE grown (id int PRIMARY KEY, t tri[])",
                "INSERT INTO grown SELECT g, ARRAY[ROW(g, 'y')::tri] FROM generate_series(1, 50) g",
                "CREATE TABLE nested (id int PRIMARY KEY, i item)",
                "INSERT INTO nested SELECT g, ROW(g, 'z')::item FROM generate_series(1, 50) g",
                "CREATE TABLE plain (id int PRIMARY KEY, v text)", "INSERT INTO plain SELECT g, 'v' FROM generate_series(1, 50) g");
        CliBackups.logicalBackup(repo, server, "postgres", "full");
        PgSupport.sql(server, "ALTER TYPE pair DROP ATTRIBUTE b", "ALTER TYPE tri ADD ATTRIBUTE c int", "ALTER TABLE item ADD COLUMN w int",
                "UPDATE shrunk SET p = ROW(0)::pair WHERE id = 3", "DELETE FROM grown WHERE id = 4", "UPDATE nested SET id = 100 WHERE id = 5",
                "UPDATE plain SET v = 'w' WHERE id = 6");
        CliRun diff = LogicalSupport.differentialRestored(server, repo);
        assertThat(diff.out()).contains("stored whole: public.shrunk: ", "stored whole: public.grown: ", "stored whole: public.nested: ", "(1 as changes: 1 rows changed, 0 deleted; 4 whole");
    }
}
