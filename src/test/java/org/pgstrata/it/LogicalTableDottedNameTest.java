package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table (into a database that has the schema) finds a table whose schema or name holds a dot, written as the
 * backup lists it (schema.name) or as SQL quotes it ("schema"."name"), and restores its rows.
 */
class LogicalTableDottedNameTest extends PgTest {

    @Test
    void tableInADottedSchemaIsFoundAsListedAndAsQuoted() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE SCHEMA \"my.schema\"",
                "CREATE TABLE \"my.schema\".\"t.x\" (id bigint PRIMARY KEY, v text)",
                "INSERT INTO \"my.schema\".\"t.x\" SELECT g, 'v' || g FROM generate_series(1, 40) g",
                "CREATE TABLE \"Mixed \"\"Q\"\"\" (id int PRIMARY KEY, v text)", "INSERT INTO \"Mixed \"\"Q\"\"\" VALUES (1, 'q')");
        String id = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        String expected = query(server, "shop", "SELECT string_agg(t::text, '|' ORDER BY id) FROM \"my.schema\".\"t.x\" t");

        int n = 0;
        for (String name : new String[] {"my.schema.t.x", "\"my.schema\".\"t.x\""}) {
            String db = "dotted_" + n++;
            PgSupport.sql(server, "CREATE DATABASE " + db);
            LogicalSupport.sql(server, db, "CREATE SCHEMA \"my.schema\"");
            CliRun r = CliRun.run("restore", "-q", "--json", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", db, "--table", name);
            assertThat(r.exitCode()).as("restore --table %s said: %s", name, r.err().strip()).isZero();
            assertThat(query(server, db, "SELECT string_agg(t::text, '|' ORDER BY id) FROM \"my.schema\".\"t.x\" t")).as("rows of --table %s", name)
                    .isEqualTo(expected);
        }
        CliRun r = CliRun.run("restore", "-q", "--json", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                "--to-db", "quoted", "--create", "--table", "\"public\".\"Mixed \"\"Q\"\"\"");
        assertThat(r.exitCode()).as("restore --table of a quoted name said: %s", r.err().strip()).isZero();
        assertThat(query(server, "quoted", "SELECT string_agg(t::text, '|') FROM \"Mixed \"\"Q\"\"\" t")).isEqualTo("(1,q)");
    }
}
