package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table of a table that inherits from another, into a database without the
 * parent: psql stops at "relation ... does not exist", and the hint said "see the message above",
 * which named nothing to do. It says what the table needs and the two ways on; the target is left
 * as it was. Into a database that has the parent, the same restore works.
 */
class LogicalTableMissingParentTest extends PgTest {

    @Test
    void childTableWithoutItsParent_saysWhatItNeeds_andLeavesTheTargetAsItWas() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE inh_p (id int PRIMARY KEY, v text)", "CREATE TABLE inh_c (extra int) INHERITS (inh_p)",
                "INSERT INTO inh_c SELECT g, 'c' || g, g FROM generate_series(1, 20) g");
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();

        PgSupport.sql(server, "CREATE DATABASE lacking");
        LogicalSupport.sql(server, "lacking", "CREATE TABLE kept (id int)");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server),
                "--to-db", "lacking", "--table", "inh_c");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.DUMP_FAILED.exitCode());
        assertThat(r.err().strip()).doesNotContain("\n").contains("inh_p").contains("does not exist")
                .contains("the table's definition uses what the database lacking lacks (a parent table")
                .contains("create it there first, or restore the whole database (without --table)")
                .doesNotContain("see the message above");
        assertThat(query(server, "lacking", "SELECT string_agg(relname::text, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = "
                + "'public'::regnamespace")).as("the target left as it was").isEqualTo("kept");

        CliRun created = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server),
                "--to-db", "fresh", "--create", "--table", "inh_c");
        assertThat(created.exitCode()).as(created.err()).isEqualTo(ErrorCode.DUMP_FAILED.exitCode());
        assertThat(created.err()).contains("the new database fresh lacks").contains("restore into an existing database that has it (without --create)");
        assertThat(LogicalSupport.databaseExists(server, "fresh")).isFalse();

        PgSupport.sql(server, "CREATE DATABASE with_parent");
        LogicalSupport.sql(server, "with_parent", "CREATE TABLE inh_p (id int PRIMARY KEY, v text)");
        CliRun ok = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server),
                "--to-db", "with_parent", "--table", "inh_c");
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(query(server, "with_parent", "SELECT string_agg(t::text, '|' ORDER BY id) FROM inh_c t"))
                .isEqualTo(query(server, "postgres", "SELECT string_agg(t::text, '|' ORDER BY id) FROM inh_c t"));
    }
}
