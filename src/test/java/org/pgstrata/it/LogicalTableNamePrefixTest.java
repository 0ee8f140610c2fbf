package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table a restores table a alone, not also table "a b" (whose entries in
 * pg_restore's list begin with the same words), from a full and from a differential.
 */
class LogicalTableNamePrefixTest extends PgTest {

    @Test
    void oneTableRestoreTakesNoTableWhoseNameItBegins() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE TABLE a (id bigint PRIMARY KEY, v text)", "INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 50) g",
                "CREATE TABLE \"a b\" (id bigint PRIMARY KEY, x text)", "INSERT INTO \"a b\" VALUES (7, 'z')", "CREATE INDEX \"a b_x\" ON \"a b\" (x)");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        LogicalSupport.sql(server, "shop", "DELETE FROM a WHERE id < 10", "UPDATE \"a b\" SET x = 'y'");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String expected = query(server, "shop", "SELECT string_agg(a::text, '|' ORDER BY id) FROM a");

        int n = 0;
        for (String id : new String[] {full, diff}) {
            String db = "one_" + n++;
            CliBackups.run("restore", "-q", "--json", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", db, "--create", "--table", "a");
            assertThat(query(server, db, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace"))
                    .as("relations restored from %s", id).isEqualTo("a,a_pkey");
        }
        assertThat(query(server, "one_1", "SELECT string_agg(a::text, '|' ORDER BY id) FROM a")).isEqualTo(expected);
    }
}
