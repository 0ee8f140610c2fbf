package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A database restored whole, or a new database made for --table, from a logical full or
 * differential has the encoding, collation and ctype of the one backed up (as pg_restore
 * --create gives them), not the server's defaults; its text comes back the same.
 */
class LogicalDatabaseEncodingTest extends PgTest {
    private static final String SHAPE = "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = '%s'";

    @Test
    void restoredDatabaseKeepsEncodingAndLocale() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        LogicalSupport.sql(server, "latin", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'caf\u00e9'), (2, '\u00fcber')");
        String expected = PgSupport.queryString(server, String.format(SHAPE, "latin"));
        assertThat(expected).startsWith("LATIN1 ");
        String full = CliBackups.logicalBackup(repo, server, "latin", "full").get("id").asText();
        LogicalSupport.sql(server, "latin", "INSERT INTO t VALUES (3, '\u00e0 la')");
        String diff = CliBackups.logicalBackup(repo, server, "latin", "diff").get("id").asText();
        String rows = "SELECT string_agg(v, '|' ORDER BY id) FROM t";
        String atDiff = query(server, "latin", rows);

        for (String id : new String[] {full, diff}) {
            String db = id.equals(full) ? "from_full" : "from_diff";
            CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server), "--to-db", db);
            assertThat(PgSupport.queryString(server, String.format(SHAPE, db))).as("encoding and locale of %s", db).isEqualTo(expected);
        }
        assertThat(query(server, "from_diff", rows)).isEqualTo(atDiff);
        CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server), "--to-db", "one",
                "--create", "--table", "t");
        assertThat(PgSupport.queryString(server, String.format(SHAPE, "one"))).isEqualTo(expected);
        assertThat(query(server, "one", rows)).isEqualTo(atDiff);
    }
}
