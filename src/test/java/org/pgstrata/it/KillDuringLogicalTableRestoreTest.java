package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A logical restore of one table into a new database (--table --create) killed with SIGKILL half
 * way must not leave a database of that name that looks restored (its table holding the full's
 * rows, not the differential's); the next restore removes what it left and restores.
 */
class KillDuringLogicalTableRestoreTest extends PgTest {

    @Test
    void tableRestoreIntoNewDatabaseKilled_leavesNoDatabaseOfThatName() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id bigint PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        CliBackups.logicalBackup(repo, source, "shop", "full");
        LogicalSupport.sql(source, "shop", "DELETE FROM t WHERE id % 3 = 0", "UPDATE t SET v = 'changed' WHERE id % 5 = 0");
        String diff = CliBackups.logicalBackup(repo, source, "shop", "diff").get("id").asText();
        String expected = rows(source, "shop");

        // paused once the full's rows are in, before the differential's changes: then killed
        Process child = ChildCli.start(Map.of("PGSTRATA_TEST_PAUSE_AT", "logical-restore-changes"), List.of(),
                "restore", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(source),
                "--to-db", "one_table", "--create", "--table", "t");
        try {
            ChildCli.awaitLine(child, "test hook: pausing", 120);
        } finally {
            ChildCli.kill(child);
        }
        assertThat(child.exitValue()).isEqualTo(137);
        assertThat(LogicalSupport.databaseExists(source, "one_table")).as("a database named one_table after a killed restore").isFalse();

        CliBackups.run("restore", "-q", "--json", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(source),
                "--to-db", "one_table", "--create", "--table", "t");
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
        assertThat(rows(source, "one_table"))
                .isEqualTo(expected);
    }

    /** Every row of t, in key order, hashed. */
    private static String rows(LocalCluster c, String db) throws Exception {
        try (java.sql.Connection conn = org.pgstrata.db.Db.connect(LogicalSupport.conn(c, db))) {
            return org.pgstrata.db.Db.queryString(conn, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM t");
        }
    }
}
