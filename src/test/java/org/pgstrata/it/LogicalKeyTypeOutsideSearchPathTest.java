package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A differential restores a table whose primary key is of a type (and equality operator) from an
 * extension installed in its own schema, off the search path: the deletes and updates apply.
 */
class LogicalKeyTypeOutsideSearchPathTest extends PgTest {

    @Test
    void differentialOfAKeyWhoseTypeIsOffTheSearchPath() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE SCHEMA ext", "CREATE EXTENSION ltree SCHEMA ext",
                "CREATE TABLE paths (p ext.ltree PRIMARY KEY, v text)",
                "INSERT INTO paths SELECT ('top.n' || g)::ext.ltree, 'v' || g FROM generate_series(1, 50) g");
        CliBackups.logicalBackup(repo, server, "shop", "full");
        LogicalSupport.sql(server, "shop", "DELETE FROM paths WHERE p OPERATOR(ext.=) 'top.n3'::ext.ltree",
                "UPDATE paths SET v = 'changed' WHERE p OPERATOR(ext.=) 'top.n4'::ext.ltree", "INSERT INTO paths VALUES ('other'::ext.ltree, 'new')");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String rows = "SELECT string_agg(p::text || '=' || v, '|' ORDER BY p::text) FROM paths";
        String expected = query(server, "shop", rows);

        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "copy");
        assertThat(r.exitCode()).as("restore of %s said: %s", diff, r.err().strip()).isZero();
        assertThat(query(server, "copy", rows)).isEqualTo(expected);

        // the table alone into an existing database, where its changes are matched in the script of its one transaction
        PgSupport.sql(server, "CREATE DATABASE one");
        LogicalSupport.sql(server, "one", "CREATE SCHEMA ext", "CREATE EXTENSION ltree SCHEMA ext");
        r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "one", "--table", "paths");
        assertThat(r.exitCode()).as("restore of table paths of %s said: %s", diff, r.err().strip()).isZero();
        assertThat(query(server, "one", rows)).isEqualTo(expected);
    }
}
