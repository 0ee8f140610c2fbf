package org.pgstrata.it;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

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
        LogicalSupport.roundTripUnder(server, repo, "default_transaction_read_only", "on", "t", "SET default_transaction_read_only = off",
                "UPDATE t SET v = 'changed' WHERE id % 7 = 0", "DELETE FROM t WHERE id % 11 = 0",
                "INSERT INTO t SELECT g, 'new' FROM generate_series(501, 520) g");
    }
}
