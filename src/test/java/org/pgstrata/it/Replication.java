package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;

/** Waiting on streaming replication in tests of standbys. */
final class Replication {
    private Replication() {
    }

    /**
     * Runs {@code work} (a backup of a standby of {@code primary}) while the primary writes WAL that
     * changes no table: a standby's backup ends once the primary writes past its stop.
     */
    static <T> T whilePrimaryTicks(LocalCluster primary, Callable<T> work) throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Exception> failed = new AtomicReference<>();
        Thread ticker = new Thread(() -> {
            try (java.sql.Connection c = PgSupport.connect(primary)) {
                while (!done.get()) {
                    Db.execute(c, "SELECT pg_logical_emit_message(false, 'pgstrata-test', 'tick')");
                    Db.execute(c, "SELECT pg_switch_wal()");
                    Thread.sleep(200);
                }
            } catch (Exception e) {
                failed.set(e);
            }
        }, "primary-ticker");
        ticker.start();
        try {
            return work.call();
        } finally {
            done.set(true);
            ticker.join();
            if (failed.get() != null) {
                throw failed.get();
            }
        }
    }

    /** Waits (up to 30 s) until {@code standby} has replayed all that {@code primary} wrote so far. */
    static void awaitReplay(LocalCluster standby, LocalCluster primary) throws Exception {
        Lsn target = Lsn.parse(PgSupport.queryString(primary, "SELECT pg_current_wal_insert_lsn()::text"));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (Lsn.parse(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn()::text")).isBefore(target)) {
            assertThat(System.nanoTime()).as("%s replays up to %s within 30 s", standby.pgdata(), target).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
