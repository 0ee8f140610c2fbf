package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * --target-xid of a committed subtransaction (a row's xmin, written inside a SAVEPOINT):
 * PostgreSQL stops only at the commit or abort record of the xid in the record's header, never at
 * a subtransaction listed inside a commit, so no restore can stop there. pgstrata refused it as
 * "not in the archived WAL", which is false (the transaction committed, as part of another) and
 * left the user nothing to try; and it called an abort record a "commit record".
 */
class SubtransactionTargetXidTest extends PgTest {

    private RestoreResult restore(Path repo, String name, String xid) {
        return PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve(name), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.XID, xid, true, "latest", "promote")));
    }

    @Test
    void aSubtransactionsXid_isRefusedNamingItsTopLevelTransaction_whichRestores() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "CREATE TABLE t (i int)", "INSERT INTO t VALUES (1)");
        PgSupport.fullBackup(repo, a);
        String top;
        String sub;
        String aborted;
        Map<String, ContentChecksum.Result> atTop;
        try (Connection c = PgSupport.connect(a)) {
            c.setAutoCommit(false);
            Db.execute(c, "INSERT INTO t VALUES (2)");
            Db.execute(c, "SAVEPOINT s");
            Db.execute(c, "INSERT INTO t VALUES (3)");
            sub = Db.queryString(c, "SELECT xmin::text FROM t WHERE i = 3");
            Db.execute(c, "RELEASE SAVEPOINT s");
            top = Db.queryString(c, "SELECT pg_current_xact_id()::text");
            c.commit();
            Db.execute(c, "INSERT INTO t VALUES (4)");
            aborted = Db.queryString(c, "SELECT pg_current_xact_id()::text");
            c.rollback();
            c.setAutoCommit(true);
            atTop = ClusterContent.of(a);
            Db.execute(c, "INSERT INTO t VALUES (5)");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);
        assertThat(sub).isNotEqualTo(top);

        String subXid = sub;
        assertThatThrownBy(() -> restore(repo, "sub", subXid)).isInstanceOfSatisfying(PgstrataException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.TARGET_UNREACHABLE);
            assertThat(e.getMessage()).contains("subtransaction of transaction " + top).doesNotContain("not in the archived WAL");
        });
        assertThat(dir.resolve("sub")).doesNotExist();

        RestoreResult r = restore(repo, "aborted", aborted);
        assertThat(r.reason()).contains("abort record at").doesNotContain("commit record");
        LocalCluster restored = pg.trackRestored(r.target(), 17);
        assertThat(ClusterContent.proof(restored)).isEqualTo(atTop);
        restored.stopImmediately();
    }
}
