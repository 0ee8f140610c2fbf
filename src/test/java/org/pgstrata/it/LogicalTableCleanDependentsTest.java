package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table T --clean into an existing database replaces T, and only T: a view
 * on T and another table's foreign key to T are not the restore's to drop (it does not bring
 * them back). It refuses, in one line, before anything changes.
 */
class LogicalTableCleanDependentsTest extends PgTest {

    @Test
    void cleanTableRestoreDoesNotSilentlyDropOtherObjects() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop", "CREATE DATABASE target");
        LogicalSupport.sql(server, "shop", "CREATE TABLE t (id bigint PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g");
        String id = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        LogicalSupport.sql(server, "target", "CREATE TABLE t (id bigint PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'old')",
                "CREATE VIEW report AS SELECT count(*) FROM t", "CREATE TABLE orders (id int PRIMARY KEY, tid bigint REFERENCES t)",
                "INSERT INTO orders VALUES (1, 1)");

        CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                "--to-db", "target", "--table", "t", "--clean");
        try (java.sql.Connection c = org.pgstrata.db.Db.connect(LogicalSupport.conn(server, "target"))) {
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT count(*) FROM pg_views WHERE viewname = 'report'"))
                    .as("the view on t after: %s", r.err()).isEqualTo("1");
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'"))
                    .as("the foreign key to t after: %s", r.err()).isEqualTo("1");
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT string_agg(v, ',') FROM t")).isEqualTo("old");
        }
        assertThat(r.exitCode()).isEqualTo(org.pgstrata.api.ErrorCode.TARGET_NOT_EMPTY.exitCode());
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("pgstrata: error: table public.t in database target cannot be replaced")
                .contains("view public.report depends on table public.t").contains("; hint: ");
    }
}
