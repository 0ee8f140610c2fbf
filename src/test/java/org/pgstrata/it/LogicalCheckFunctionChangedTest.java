package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A differential loads the full's rows into its own schema before it applies the changes. A
 * CHECK constraint of a table or of a domain that calls a function whose body was made stricter
 * since the full (CREATE OR REPLACE FUNCTION, after the rows were brought in line) reads the
 * same in pg_get_constraintdef, so the table was compared as changes: the differential was
 * reported complete and its restore failed (exit 30, "value for domain public.code violates check
 * constraint"), where a pg_dump of the source restores. Such a table is stored whole.
 */
class LogicalCheckFunctionChangedTest extends PgTest {
    @Test
    void functionOfACheckChangedSinceTheFull_tableStoredWhole_andTheDifferentialRestores() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE FUNCTION long_enough(text, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT length($1) >= $2 $$",
                "CREATE FUNCTION valid_code(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT public.long_enough($1, 2) $$",
                "CREATE DOMAIN code AS text CHECK (valid_code(VALUE))",
                "CREATE TABLE item (id int PRIMARY KEY, c code)", "INSERT INTO item SELECT g, 'ab' FROM generate_series(1, 20) g",
                "CREATE TABLE note (id int PRIMARY KEY, v text CHECK (valid_code(v)))", "INSERT INTO note SELECT g, 'xy' FROM generate_series(1, 20) g",
                "CREATE TABLE plain (id int PRIMARY KEY, v text CHECK (length(v) > 0))", "INSERT INTO plain SELECT g, 'v' FROM generate_series(1, 20) g");
        CliBackups.logicalBackup(repo, server, "postgres", "full");
        PgSupport.sql(server, "UPDATE item SET c = 'abc' WHERE id <= 10", "DELETE FROM item WHERE id > 10",
                "UPDATE note SET v = 'xyz' WHERE id <= 10", "DELETE FROM note WHERE id > 10", "UPDATE plain SET v = 'w' WHERE id = 3",
                "CREATE OR REPLACE FUNCTION valid_code(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT public.long_enough($1, 3) $$");
        CliRun diff = LogicalSupport.differentialRestored(server, repo);
        assertThat(diff.out()).contains("stored whole: public.item: ", "stored whole: public.note: ", "(1 as changes: 1 rows changed, 0 deleted; 2 whole");
    }
}
