package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.wal.WalReceiver;

/**
 * {@code wal receive} on a slot made beforehand with pg_create_physical_replication_slot's
 * defaults (no WAL reserved until someone streams from it), as an administrator prepares one.
 * Before, the receiver tried to make it reserve WAL with pg_replication_slot_advance, which
 * PostgreSQL refuses for such a slot: it never started (exit 19, "cannot be advanced").
 */
class WalReceiveExistingSlotTest extends PgTest {

    @Test
    void aSlotCreatedWithoutReservingWal_isUsed_andReservesFromThen() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        PgSupport.facade().repoInit(repo.toString(), source.pgdata());
        String stopAt;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "SELECT pg_create_physical_replication_slot('prepared')");
            stopAt = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
        }
        WalReceiver.Options o = new WalReceiver.Options(repo.toString(), PgSupport.conn(source), "prepared", Lsn.parse(stopAt),
                Compression.ZSTD);
        CompletableFuture<WalReceiver.Result> receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(Progress.NONE, () -> false).run(o));
        try (Connection c = PgSupport.connect(source)) {
            // Once it streams, complete the segment that holds the stop position.
            for (int i = 0; i < 300 && !receiving.isDone()
                    && !"true".equals(Db.queryString(c, "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'prepared'")); i++) {
                Thread.sleep(100);
            }
            Db.execute(c, "SELECT pg_switch_wal()");
            WalReceiver.Result r = receiving.get(30, TimeUnit.SECONDS);
            assertThat(r.segments()).isPositive();
            assertThat(r.flushed()).isGreaterThanOrEqualTo(Lsn.parse(stopAt));
            assertThat(Lsn.parse(Db.queryString(c, "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'prepared'")))
                    .as("the slot now keeps the WAL not yet archived").isEqualTo(r.flushed());
        }
    }
}
