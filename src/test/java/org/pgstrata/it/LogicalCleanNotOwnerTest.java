package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --clean by a role that may create databases but does not own the one it is
 * to replace: DROP DATABASE will be refused, so the restore must be refused before it does any
 * work, in one line with the exit code of a refused statement, and leave nothing behind.
 */
class LogicalCleanNotOwnerTest extends PgTest {

    @Test
    void cleanOverADatabaseOfAnotherOwner_isRefusedUpFront() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        LogicalSupport.sql(source, "postgres", "CREATE DATABASE app", "CREATE ROLE restorer LOGIN CREATEDB");
        LogicalSupport.sql(source, "app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 100)");
        String id = CliBackups.logicalBackup(repo, source, "app", "full").get("id").asText();
        LogicalSupport.sql(source, "app", "INSERT INTO t VALUES (1000)");

        CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source),
                "--user", "restorer", "--to-db", "app", "--clean", "--no-owner");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains("database app").contains("owned by role postgres").contains("nothing was restored");
        assertThat(r.out()).doesNotContain("reading backup");
        assertThat(r.err()).doesNotContain("reading backup");
        try (java.sql.Connection c = org.pgstrata.db.Db.connect(LogicalSupport.conn(source, "app"))) {
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT count(*) FROM t")).isEqualTo("101");
        }
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
    }

    /** The same for one table: DROP TABLE is its owner's, and was refused only after the backup had been read. */
    @Test
    void cleanOfOneTableOfAnotherOwner_isRefusedUpFront() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        LogicalSupport.sql(source, "postgres", "CREATE DATABASE app", "CREATE ROLE restorer LOGIN");
        LogicalSupport.sql(source, "app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 100)",
                "GRANT ALL ON SCHEMA public TO restorer", "GRANT ALL ON t TO restorer");
        String id = CliBackups.logicalBackup(repo, source, "app", "full").get("id").asText();
        LogicalSupport.sql(source, "app", "INSERT INTO t VALUES (1000)");

        CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source),
                "--user", "restorer", "--to-db", "app", "--table", "t", "--clean", "--no-owner");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains("table public.t").contains("owned by role postgres").contains("nothing was restored");
        assertThat(r.out()).doesNotContain("reading backup");
        assertThat(r.err()).doesNotContain("reading backup");
        try (java.sql.Connection c = org.pgstrata.db.Db.connect(LogicalSupport.conn(source, "app"))) {
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT count(*) FROM t")).isEqualTo("101");
        }
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
    }
}
