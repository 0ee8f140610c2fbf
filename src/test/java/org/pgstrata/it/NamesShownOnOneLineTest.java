package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A database or table name is the user's text, and may hold a line break or a terminal's escape
 * sequence. What backup, list and restore print about it shows such a name escaped, in quotes,
 * on the one line it belongs to: a name must not add a row to list's table (here one that looks
 * like a backup) nor clear the terminal. The JSON output keeps the exact name.
 */
class NamesShownOnOneLineTest extends PgTest {
    private static final String DB = "shop\n20991231-000000F  full\u001b[2J";
    private static final String SHOWN_DB = "\"shop\\n20991231-000000F  full\\u001b[2J\"";
    private static final String TABLE = "t\nx";

    @Test
    void namesWithControlCharacters_areShownEscapedOnOneLine() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE " + quoted(DB));
        LogicalSupport.sql(server, DB, "CREATE TABLE " + quoted(TABLE) + " (id int PRIMARY KEY)", "INSERT INTO " + quoted(TABLE) + " VALUES (1), (2)");

        CliRun backup = CliBackups.ok("backup", "--logical", "--repo", repo.toString(), "--port", CliBackups.port(server), "--dbname", DB);
        assertOneLineEach(backup.out());
        assertThat(backup.out()).contains("of database " + SHOWN_DB + " complete");

        CliRun list = CliBackups.ok("list", "--repo", repo.toString());
        assertOneLineEach(list.out());
        assertThat(list.out().lines().filter(l -> l.matches("^\\d{8}-\\d{6}.*"))).as("rows of:%n%s", list.out()).hasSize(1);
        assertThat(list.out()).contains("logical-full (" + SHOWN_DB + ")");
        String id = CliBackups.run("list", "--json", "--repo", repo.toString()).get(0).get("id").asText();
        assertThat(CliBackups.run("list", "--json", "--repo", repo.toString()).get(0).get("database").asText()).isEqualTo(DB);

        CliRun restore = CliBackups.ok("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                "--to-db", "copy", "--create", "--table", "public." + TABLE);
        assertOneLineEach(restore.out());
        assertThat(restore.out()).contains("into database copy, table \"public.t\\nx\"");
        assertThat(query(server, "copy", "SELECT count(*)::text FROM " + quoted(TABLE))).isEqualTo("2");
    }

    private static void assertOneLineEach(String out) {
        assertThat(out).as("what pgstrata printed:%n%s", out).doesNotContain("\u001b").doesNotContain("\nx").doesNotContain("\n20991231");
    }

    private static String quoted(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
