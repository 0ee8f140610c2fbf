package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * PostgreSQL cuts a name longer than 63 bytes to 63 bytes. A --to-db that long was restored under
 * the cut name while the result named the long one; restored again with --clean, the long name
 * matched no database, nothing was replaced, and the whole restore failed at its very end with
 * "database ... already exists". Such a name is refused before anything is done.
 */
class LogicalRestoreLongDatabaseNameTest extends PgTest {

    @Test
    void aNameLongerThanTheServerHoldsIsRefusedBeforeAnythingIsDone() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String cut = "é".repeat(31) + "x"; // 63 bytes
        String tooLong = cut + "-restored";
        PgSupport.sql(source, "CREATE DATABASE \"" + cut + "\"");
        LogicalSupport.sql(source, cut, "CREATE TABLE kept (id int)");

        for (String[] extra : new String[][] {{}, {"--clean"}, {"--table", "t", "--create"}}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("restore", "--logical", "--repo", repo.toString(),
                    "--backup", id, "--port", CliBackups.port(source), "--to-db", tooLong));
            args.addAll(java.util.List.of(extra));
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip().lines()).as(r.err()).hasSize(1).first().asString()
                    .startsWith("pgstrata: error: --to-db " + tooLong + " is 72 bytes long").contains("63");
        }
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
        assertThat(PgSupport.queryString(source, "SELECT count(*) FROM pg_database WHERE datname LIKE 'é%'")).isEqualTo("1");
        try (java.sql.Connection c = org.pgstrata.db.Db.connect(LogicalSupport.conn(source, cut))) {
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT string_agg(relname, ',') FROM pg_class WHERE relname IN ('kept', 't')"))
                    .as("the database the long name would be cut to is left as it was").isEqualTo("kept");
        }
    }
}
