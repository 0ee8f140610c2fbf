package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A server with lock_timeout set for every role (lock_timeout = '1s' in postgresql.conf, so that
 * no application waits long behind a migration) gave pgstrata's sessions that limit too: a
 * logical backup that met a table locked for a few seconds (an ALTER TABLE, a VACUUM FULL, a
 * CREATE INDEX) failed, exit 19, "canceling statement due to lock timeout", where pg_dump, which
 * sets lock_timeout = 0 for itself, waits. Every pgstrata session now lifts lock_timeout as it
 * lifts statement_timeout.
 */
class LogicalLockTimeoutServerTest extends PgTest {
    /** Holds ACCESS EXCLUSIVE on a table of {@code db} for 3 s, from now; returns when that lock is released. */
    private static CompletableFuture<Void> lockBriefly(LocalCluster server, String db, String table) throws Exception {
        Connection c = Db.connect(LogicalSupport.conn(server, db));
        c.setAutoCommit(false);
        Db.execute(c, "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
        return CompletableFuture.runAsync(() -> {
            try (c) {
                Thread.sleep(3000);
                c.commit();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aServerWithLockTimeout_waitsForABrieflyLockedTable() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g",
                "ALTER SYSTEM SET lock_timeout = '1s'", "SELECT pg_reload_conf()");
        assertThat(PgSupport.queryString(server, "SELECT reset_val FROM pg_settings WHERE name = 'lock_timeout'")).isEqualTo("1000");

        CompletableFuture<Void> held = lockBriefly(server, "postgres", "t");
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();
        held.get();
        ContentChecksum.Result atFull = LogicalSupport.proof(server, "postgres");
        PgSupport.sql(server, "UPDATE t SET v = 'changed' WHERE id % 7 = 0", "DELETE FROM t WHERE id % 11 = 0",
                "INSERT INTO t SELECT g, 'new' FROM generate_series(501, 520) g");
        held = lockBriefly(server, "postgres", "t");
        String diff = CliBackups.logicalBackup(repo, server, "postgres", "diff").get("id").asText();
        held.get();
        ContentChecksum.Result atDiff = LogicalSupport.proof(server, "postgres");
        assertThat(atDiff).isNotEqualTo(atFull);

        for (Object[] restore : new Object[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", (String) restore[0], "--port",
                    CliBackups.port(server), "--to-db", (String) restore[1]);
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(LogicalSupport.proof(server, (String) restore[1])).as((String) restore[1]).isEqualTo(restore[2]);
        }
        // One table into an existing database
        PgSupport.sql(server, "CREATE DATABASE other");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", "t");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(LogicalSupport.proof(server, "other")).isEqualTo(atDiff);
    }
}
