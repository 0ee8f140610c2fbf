package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table restored a table's definition, rows, indexes and owned sequences but
 * not its privileges and comments (pg_dump writes each GRANT and COMMENT as an entry of its own,
 * which the table's list left out): with --clean in place the table was dropped with its GRANTs
 * and came back without them, so the roles that used it got "permission denied" after a restore
 * that said it had succeeded; a differential's changed GRANTs were lost the same way. They come
 * with the table now (none with --no-privileges, as before).
 */
class LogicalTablePrivilegesTest extends PgTest {
    private static final String STATE = "SELECT pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '-') || ' '"
            + " || coalesce(obj_description(c.oid, 'pg_class'), '-') || ' ' || coalesce(col_description(c.oid, 2), '-') || ' '"
            + " || coalesce((SELECT attacl::text FROM pg_attribute WHERE attrelid = c.oid AND attname = 'v'), '-') || ' '"
            + " || coalesce((SELECT relacl::text FROM pg_class WHERE relname = 'items_id_seq'), '-') || ' ' || (SELECT count(*) FROM items)"
            + " FROM pg_class c WHERE c.oid = 'items'::regclass";

    @Test
    void tableRestoredAlone_keepsItsGrantsAndComments_atTheFullAndTheDifferential() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE ROLE app", "CREATE ROLE auditor", "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE TABLE items (id serial PRIMARY KEY, v text)",
                "INSERT INTO items (v) SELECT 'v' || g FROM generate_series(1, 20) g", "ALTER TABLE items OWNER TO app",
                "GRANT SELECT, INSERT ON items TO auditor", "GRANT USAGE ON SEQUENCE items_id_seq TO auditor",
                "COMMENT ON TABLE items IS 'the items'", "COMMENT ON COLUMN items.v IS 'the value'");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        String atFull = query(server, "shop", STATE);
        LogicalSupport.sql(server, "shop", "REVOKE INSERT ON items FROM auditor", "GRANT UPDATE (v) ON items TO auditor",
                "COMMENT ON TABLE items IS 'changed'", "UPDATE items SET v = 'w' WHERE id = 3");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String atDiff = query(server, "shop", STATE);
        assertThat(atDiff).isNotEqualTo(atFull);

        for (String[] point : new String[][] {{full, atFull}, {diff, atDiff}}) {
            String db = "copy_" + point[0].substring(point[0].length() - 2).toLowerCase();
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", point[0], "--port", CliBackups.port(server),
                    "--to-db", db);
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(server, db, STATE)).as("whole database of " + point[0]).isEqualTo(point[1]);
            r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", point[0], "--port", CliBackups.port(server),
                    "--to-db", db, "--table", "items", "--clean");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(server, db, STATE)).as("items restored in place from " + point[0]).isEqualTo(point[1]);
            r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", point[0], "--port", CliBackups.port(server),
                    "--to-db", db + "_new", "--create", "--table", "items");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(server, db + "_new", STATE)).as("items restored into a new database from " + point[0]).isEqualTo(point[1]);
        }
        // --no-privileges still leaves them out
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--port", CliBackups.port(server),
                "--to-db", "bare", "--create", "--table", "items", "--no-privileges");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(query(server, "bare", "SELECT coalesce(relacl::text, '-') FROM pg_class WHERE oid = 'items'::regclass")).isEqualTo("-");
    }
}
