package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * The rows users keep in an extension's configuration table (pg_extension_config_dump: what
 * pg_dump dumps of an extension's own tables, such as pg_partman's part_config) and the state of
 * its configuration sequences come back from a logical differential as from its full.
 */
class LogicalExtensionConfigTableTest extends PgTest {

    @Test
    void extensionConfigurationRowsSurviveADifferential() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        // a test extension in the server's own extension directory: one configuration table (its built-in rows left
        // out of dumps by its condition) and one configuration sequence
        Path extensions = Path.of(PgSupport.queryString(server, "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'"), "extension");
        Files.writeString(extensions.resolve("pgstrata_test_config.control"),
                "comment = 'pgstrata tests: an extension with configuration tables'\ndefault_version = '1.0'\nrelocatable = false\n");
        Files.writeString(extensions.resolve("pgstrata_test_config--1.0.sql"), """
                CREATE TABLE ext_settings (id int PRIMARY KEY, v text, builtin boolean NOT NULL DEFAULT false);
                INSERT INTO ext_settings VALUES (1, 'built in', true);
                SELECT pg_catalog.pg_extension_config_dump('ext_settings', 'WHERE NOT builtin');
                CREATE SEQUENCE ext_counter;
                SELECT pg_catalog.pg_extension_config_dump('ext_counter', '');
                """);
        try {
            backUpAndRestore(server);
        } finally {
            // the server's installation is shared with other tests: leave it as it was
            Files.deleteIfExists(extensions.resolve("pgstrata_test_config.control"));
            Files.deleteIfExists(extensions.resolve("pgstrata_test_config--1.0.sql"));
        }
    }

    private void backUpAndRestore(LocalCluster server) throws Exception {
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE EXTENSION pgstrata_test_config", "INSERT INTO ext_settings VALUES (2, 'mine'), (3, 'gone soon')",
                "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 5)");
        String rows = "SELECT string_agg(s::text, '|' ORDER BY id) FROM ext_settings s";
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        String atFull = query(server, "shop", rows);
        LogicalSupport.sql(server, "shop", "UPDATE ext_settings SET v = 'changed' WHERE id = 2", "DELETE FROM ext_settings WHERE id = 3",
                "INSERT INTO ext_settings VALUES (4, 'new')", "SELECT setval('ext_counter', 42)", "INSERT INTO t VALUES (6)");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();
        String atDiff = query(server, "shop", rows);
        assertThat(atDiff).isEqualTo("(1,\"built in\",t)|(2,changed,f)|(4,new,f)");

        CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server), "--to-db", "from_full");
        assertThat(query(server, "from_full", rows)).as("from the full").isEqualTo(atFull);
        CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server), "--to-db", "from_diff");
        assertThat(query(server, "from_diff", rows)).as("from the differential").isEqualTo(atDiff);
        assertThat(query(server, "from_diff", "SELECT last_value::text FROM ext_counter")).isEqualTo("42");
        assertThat(query(server, "from_diff", "SELECT count(*)::text FROM t")).isEqualTo("6");
    }
}
