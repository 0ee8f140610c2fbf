package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table of a table whose name holds a line break (which pg_restore's list
 * prints as a space) restores the table, its rows, index and sequence, from a full and from a
 * differential; it never reports a table restored that it did not restore.
 */
class LogicalTableNewlineNameTest extends PgTest {
    private static final String TABLE = "\"new\nline\"";

    @Test
    void tableWithALineBreakInItsNameIsRestored() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE TABLE " + TABLE + " (id serial PRIMARY KEY, v text)",
                "CREATE INDEX \"by\nv\" ON " + TABLE + " (v)", "INSERT INTO " + TABLE + " (v) SELECT 'v' || g FROM generate_series(1, 20) g");
        String rows = "SELECT string_agg(t::text, '|' ORDER BY id) FROM " + TABLE + " t";
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        String atFull = query(server, "shop", rows);
        LogicalSupport.sql(server, "shop", "DELETE FROM " + TABLE + " WHERE id < 4", "INSERT INTO " + TABLE + " (v) VALUES ('new')");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String atDiff = query(server, "shop", rows);

        String[][] cases = {{full, "from_full", atFull}, {diff, "from_diff", atDiff}};
        for (String[] c : cases) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", c[0], "--port", CliBackups.port(server),
                    "--to-db", c[1], "--create", "--table", "public.new\nline");
            assertThat(r.exitCode()).as("restore --table of %s said: %s", c[0], r.err().strip()).isZero();
            assertThat(LogicalSupport.databaseExists(server, c[1])).isTrue();
            assertThat(query(server, c[1], "SELECT count(*)::text FROM pg_class WHERE relname = 'new\nline'")).as("table from %s", c[0]).isEqualTo("1");
            assertThat(query(server, c[1], rows)).as("rows from %s", c[0]).isEqualTo(c[2]);
            assertThat(query(server, c[1], "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind IN ('i', 'S') "
                    + "AND relnamespace = 'public'::regnamespace")).isEqualTo("by\nv,new\nline_id_seq,new\nline_pkey");
        }
    }
}
