package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --logical --table T into an existing database, killed with SIGKILL after T's definition
 * and rows were restored but before its indexes and constraints (post-data: here its primary key,
 * which waits for another session's uncommitted relation of that name), left T in the target
 * looking restored (there, with every row) but without its primary key, and nothing said so; with
 * --clean, the old T was gone too. The whole table restore (the replacement, definition, rows, a
 * differential's changes, indexes and constraints) is one transaction: killed at any point, the
 * target is as it was.
 */
class LogicalTableRestoreKilledTest extends PgTest {

    @Test
    void aTableRestoreKilledBeforeItsConstraints_leavesTheTargetAsItWas() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        LogicalSupport.sql(source, "shop", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(2, 500) g");
        String full = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        LogicalSupport.sql(source, "shop", "UPDATE t SET v = 'changed' WHERE id < 50", "DELETE FROM t WHERE id > 450");
        String diff = CliBackups.logicalBackup(repo, source, "shop", "diff").get("id").asText();
        ContentChecksum.Result atDiff = LogicalSupport.proof(source, "shop");

        int n = 0;
        for (String id : new String[] {full, diff}) {
            for (boolean clean : new boolean[] {false, true}) {
                String db = "other" + n++;
                PgSupport.sql(source, "CREATE DATABASE " + db);
                if (clean) {
                    LogicalSupport.sql(source, db, "CREATE TABLE t (id int CONSTRAINT t_old_pk PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'precious')");
                }
                ContentChecksum.Result before = LogicalSupport.proof(source, db);
                List<String> args = new ArrayList<>(List.of("restore", "--logical", "--repo", repo.toString(), "--backup", id,
                        "--port", CliBackups.port(source), "--to-db", db, "--table", "t"));
                if (clean) {
                    args.add("--clean");
                }
                killAtThePrimaryKey(source, db, args);
                assertThat(LogicalSupport.proof(source, db)).as("database " + db + " after a killed restore of " + id + (clean ? " --clean" : ""))
                        .isEqualTo(before);
                try (Connection c = Db.connect(LogicalSupport.conn(source, db))) {
                    assertThat(Db.queryString(c, "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("table t in " + db).isEqualTo(clean ? "1" : "0");
                }
            }
        }

        CliRun again = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(source),
                "--to-db", "other3", "--table", "t", "--clean");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(LogicalSupport.proof(source, "other3")).isEqualTo(atDiff);
        try (Connection c = Db.connect(LogicalSupport.conn(source, "other3"))) {
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.t'::regclass AND contype = 'p'"))
                    .as("t's primary key").isEqualTo("1");
        }
    }

    /** Runs the restore while another session holds an uncommitted relation t_pkey in {@code db}, and kills it once it waits there. */
    private void killAtThePrimaryKey(LocalCluster source, String db, List<String> args) throws Exception {
        try (Connection blocker = Db.connect(LogicalSupport.conn(source, db))) {
            blocker.setAutoCommit(false);
            Db.execute(blocker, "CREATE TABLE t_pkey (x int)");
            Process child = ChildCli.start(Map.of(), List.of(), args.toArray(String[]::new));
            try {
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (!"1".equals(PgSupport.queryString(source, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db + "' "
                        + "AND wait_event_type = 'Lock' AND pid <> " + Db.queryString(blocker, "SELECT pg_backend_pid()")))) {
                    assertThat(child.isAlive()).as("the restore waits at the primary key").isTrue();
                    assertThat(System.nanoTime()).as("the restore reached the primary key within 120 s").isLessThan(deadline);
                    Thread.sleep(50);
                }
            } finally {
                ChildCli.kill(child);
            }
            assertThat(child.exitValue()).isEqualTo(137);
            blocker.rollback();
        }
        // the killed restore's session ends its statement and goes
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"0".equals(PgSupport.queryString(source, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db + "' AND pid <> pg_backend_pid()"))) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
