package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A server set read-only by default (default_transaction_read_only = on: a guard during
 * maintenance, a reporting copy) gives every session read-only transactions unless it says
 * otherwise. A logical restore onto it failed at its first write, exit 19, "cannot execute
 * CREATE DATABASE in a read-only transaction"; pg_restore would have failed likewise. A restore
 * the user asked for writes, as pg_dumpall's scripts do: pgstrata's sessions and pg_restore's
 * turn the default off for themselves.
 */
class LogicalReadOnlyServerTest extends PgTest {
    @Test
    void aServerReadOnlyByDefault_isBackedUpAndRestoredLogically() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g",
                "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()");
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();
        ContentChecksum.Result atFull = LogicalSupport.proof(server, "postgres");
        PgSupport.sql(server, "SET default_transaction_read_only = off", "UPDATE t SET v = 'changed' WHERE id % 7 = 0",
                "DELETE FROM t WHERE id % 11 = 0", "INSERT INTO t SELECT g, 'new' FROM generate_series(501, 520) g");
        String diff = CliBackups.logicalBackup(repo, server, "postgres", "diff").get("id").asText();
        ContentChecksum.Result atDiff = LogicalSupport.proof(server, "postgres");
        assertThat(atDiff).isNotEqualTo(atFull);
        assertThat(PgSupport.queryString(server, "SELECT reset_val FROM pg_settings WHERE name = 'default_transaction_read_only'")).isEqualTo("on");

        for (Object[] restore : new Object[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", (String) restore[0], "--port",
                    CliBackups.port(server), "--to-db", (String) restore[1]);
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(LogicalSupport.proof(server, (String) restore[1])).as((String) restore[1]).isEqualTo(restore[2]);
        }
        // One table into an existing database, from the differential
        PgSupport.sql(server, "SET default_transaction_read_only = off", "CREATE DATABASE other");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", "t");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(LogicalSupport.proof(server, "other")).isEqualTo(atDiff);
    }
}
