package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * --target-xid of a prepared transaction (PREPARE TRANSACTION, then COMMIT or ROLLBACK
 * PREPARED): PostgreSQL stops at the record that finishes it, whose header names the finishing
 * session (no xid) and whose body names the prepared one. pgstrata looked only at the header and
 * refused the target as not in the archive.
 */
class PreparedTransactionTargetTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static String committedXid;
    static String rolledBackXid;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.archiving("source", repo);
        PgSupport.sql(source, "ALTER SYSTEM SET max_prepared_transactions = 4");
        source.stop();
        source.start();
        PgSupport.sql(source, "CREATE TABLE t (i int)", "CREATE TABLE scratch (i int)", "INSERT INTO scratch VALUES (1)");
        PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "INSERT INTO t VALUES (1)");
            // Dropping a table puts relation files, dropped statistics and invalidations before the prepared xid in the record.
            committedXid = prepare("p1", "INSERT INTO t VALUES (2)", "DROP TABLE scratch");
            Db.execute(c, "INSERT INTO t VALUES (3)");
            Db.execute(c, "COMMIT PREPARED 'p1'");
            Db.execute(c, "INSERT INTO t VALUES (4)");
            rolledBackXid = prepare("p2", "INSERT INTO t VALUES (5)");
            Db.execute(c, "INSERT INTO t VALUES (6)");
            Db.execute(c, "ROLLBACK PREPARED 'p2'");
            Db.execute(c, "INSERT INTO t VALUES (7)");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(source);
    }

    /** Runs {@code statements} in a transaction prepared as {@code gid}; returns its xid. */
    private static String prepare(String gid, String... statements) throws Exception {
        try (Connection c = PgSupport.connect(source)) {
            c.setAutoCommit(false);
            for (String s : statements) {
                Db.execute(c, s);
            }
            String xid = Db.queryString(c, "SELECT pg_current_xact_id()::text");
            Db.execute(c, "PREPARE TRANSACTION '" + gid + "'");
            c.setAutoCommit(true);
            return xid;
        }
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static String rowsAt(String name, String xid) throws Exception {
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve(name), null, true,
                LocalCluster.freePort(), null, 2, new RecoveryTarget(RecoveryTarget.Type.XID, xid, true, "latest", "promote")));
        pg.trackRestored(r.target(), 17);
        LocalCluster c = new LocalCluster(r.target(), PgBinaries.resolve(null, 17, PgSupport.env()));
        try (Connection conn = PgSupport.connect(c)) {
            return Db.queryString(conn, "SELECT array_agg(i ORDER BY i)::text FROM t");
        } finally {
            c.stop();
        }
    }

    @Test
    void aCommittedPreparedTransaction_isATargetByItsXid() throws Exception {
        assertThat(rowsAt("committed", committedXid)).isEqualTo("{1,2,3}");
    }

    @Test
    void aRolledBackPreparedTransaction_isATargetByItsXid() throws Exception {
        assertThat(rowsAt("rolled-back", rolledBackXid)).isEqualTo("{1,2,3,4,6}");
    }
}
