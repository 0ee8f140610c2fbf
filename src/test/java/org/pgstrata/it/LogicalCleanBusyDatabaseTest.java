package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --clean over a database that another session is connected to cannot drop
 * it: the error says why and what to do (not "see the server log"), and leaves the database and
 * no temporary one.
 */
class LogicalCleanBusyDatabaseTest extends PgTest {

    @Test
    void cleanRestoreOverABusyDatabaseSaysWhy() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop", "CREATE DATABASE target");
        LogicalSupport.sql(server, "shop", "CREATE TABLE t (id bigint PRIMARY KEY)", "INSERT INTO t VALUES (1)");
        String id = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        LogicalSupport.sql(server, "target", "CREATE TABLE keep (id int)");
        try (Connection busy = Db.connect(LogicalSupport.conn(server, "target"))) {
            CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server),
                    "--to-db", "target", "--clean");
            assertThat(r.exitCode()).as(r.err()).isEqualTo(org.pgstrata.api.ErrorCode.TARGET_NOT_EMPTY.exitCode());
            assertThat(r.err().strip()).doesNotContain("\n").contains("other sessions are connected to it").doesNotContain("server log");
            assertThat(Db.queryString(busy, "SELECT count(*) FROM pg_class WHERE relname = 'keep'")).isEqualTo("1");
        }
        assertThat(LogicalSupport.leftoverRestoreDatabases(server)).isZero();
    }
}
