package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --to-db postgres --clean replaces the database that pgstrata's own
 * connection goes through by default: the restore must not do all its work and then fail with
 * "cannot drop the currently open database".
 */
class LogicalRestoreOverConnectedDatabaseTest extends PgTest {

    @Test
    void cleanRestoreReplacesThePostgresDatabase() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        LogicalSupport.sql(source, "postgres", "CREATE TABLE t (id bigint PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g");
        String expected = rows(source);
        String id = CliBackups.logicalBackup(repo, source, "postgres", "full").get("id").asText();
        LogicalSupport.sql(source, "postgres", "DELETE FROM t WHERE id % 2 = 0", "INSERT INTO t VALUES (1000, 'after')");

        CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source),
                "--to-db", "postgres", "--clean");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(rows(source)).isEqualTo(expected);
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
    }

    private static String rows(LocalCluster c) throws Exception {
        try (java.sql.Connection conn = org.pgstrata.db.Db.connect(LogicalSupport.conn(c, "postgres"))) {
            return org.pgstrata.db.Db.queryString(conn, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM t");
        }
    }
}
