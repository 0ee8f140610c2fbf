package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --logical --table T --clean into an existing database dropped the table there first,
 * then restored it: when the restore then failed (a role the backup names missing on the server),
 * the table was gone, and the error said "the target was left as it was". The table is replaced
 * in the transaction of the whole table restore, so such a failure leaves it as it was.
 */
class LogicalTableCleanRestoreFailsTest extends PgTest {

    @Test
    void aTableRestoreThatFails_leavesTheTableItWouldReplace() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        PgSupport.sql(source, "CREATE ROLE keeper");
        LogicalSupport.sql(source, "shop", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(2, 200) g", "ALTER TABLE t OWNER TO keeper");
        String full = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        LogicalSupport.sql(source, "shop", "UPDATE t SET v = 'changed' WHERE id < 20", "DELETE FROM t WHERE id > 190");
        String diff = CliBackups.logicalBackup(repo, source, "shop", "diff").get("id").asText();
        ContentChecksum.Result atDiff = LogicalSupport.proof(source, "shop");
        // the server loses the role (another host's would not have it)
        LogicalSupport.sql(source, "shop", "REASSIGN OWNED BY keeper TO postgres", "DROP OWNED BY keeper");
        PgSupport.sql(source, "DROP ROLE keeper", "CREATE DATABASE other");
        LogicalSupport.sql(source, "other", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'precious')");
        ContentChecksum.Result precious = LogicalSupport.proof(source, "other");

        for (String id : new String[] {full, diff}) {
            CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source),
                    "--to-db", "other", "--table", "t", "--clean");
            assertThat(r.exitCode()).as(r.err()).isEqualTo(17);
            assertThat(r.errLines()).as(r.err()).singleElement().asString().contains("role keeper").contains("which owns objects")
                    .contains("--no-owner").contains("the target was left as it was");
            assertThat(LogicalSupport.proof(source, "other")).as("table t of database other after restoring " + id).isEqualTo(precious);
        }
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(source),
                "--to-db", "other", "--table", "t", "--clean", "--no-owner");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(LogicalSupport.proof(source, "other")).isEqualTo(atDiff);
    }

    /**
     * A failure after the table was replaced (here its primary key, whose name another relation of
     * the target database holds) removed the new table, the old one gone with the replacement (the
     * message said so). The replacement is in the transaction of the whole table restore: such a
     * failure leaves the old table as it was.
     */
    @Test
    void aTableRestoreThatFailsAfterReplacingTheTable_leavesTheOldTable() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String full = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        PgSupport.sql(source, "CREATE DATABASE other");
        LogicalSupport.sql(source, "other", "CREATE TABLE t (id int CONSTRAINT t_pk PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'precious')",
                "CREATE TABLE u (id int)", "CREATE INDEX t_pkey ON u (id)");
        ContentChecksum.Result precious = LogicalSupport.proof(source, "other");

        CliRun r = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(source),
                "--to-db", "other", "--table", "t", "--clean");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(30);
        assertThat(r.errLines()).as(r.err()).singleElement().asString().contains("t_pkey").contains("the target was left as it was");
        assertThat(LogicalSupport.proof(source, "other")).isEqualTo(precious);
    }
}
