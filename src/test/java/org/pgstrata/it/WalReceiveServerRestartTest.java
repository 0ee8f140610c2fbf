package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.wal.WalReceiver;

/**
 * {@code wal receive} while its server restarts: it resumes from the slot once the server is
 * back, and archives what the server writes after. Before, the first restart ended it with
 * "Unable to close connection properly" (exit 19): closing the connection the restart had cut
 * failed, and that failure was taken for the receiver's own.
 */
class WalReceiveServerRestartTest extends PgTest {

    @Test
    void aServerRestart_isOutlived_andWalWrittenAfterItIsArchived() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        PgSupport.facade().repoInit(repo.toString(), source.pgdata());
        AtomicBoolean stop = new AtomicBoolean();
        WalReceiver.Options o = new WalReceiver.Options(repo.toString(), PgSupport.conn(source), "restarts", null, Compression.ZSTD);
        CompletableFuture<WalReceiver.Result> receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(Progress.NONE, stop::get).run(o));
        awaitActive(source, receiving);
        source.stop();
        source.start();
        awaitActive(source, receiving);
        Lsn switched;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE TABLE after_restart AS SELECT 1 AS x");
            Db.execute(c, "SELECT pg_switch_wal()");
            switched = Lsn.parse(Db.queryString(c, "SELECT pg_current_wal_lsn()::text"));
            // The slot moves only once the segment is durable in the repository.
            for (int i = 0; i < 300 && !receiving.isDone() && Lsn.parse(Db.queryString(c,
                    "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'restarts'")).isBefore(switched); i++) {
                Thread.sleep(100);
            }
        }
        stop.set(true);
        WalReceiver.Result r = receiving.get(30, TimeUnit.SECONDS);
        assertThat(r.segments()).isPositive();
        assertThat(r.flushed()).isGreaterThanOrEqualTo(switched);
    }

    /** Waits until the receiver streams from its slot (or has ended, which {@code receiving.get} then reports). */
    private static void awaitActive(LocalCluster source, CompletableFuture<WalReceiver.Result> receiving) throws Exception {
        for (int i = 0; i < 300 && !receiving.isDone() && !"true".equals(PgSupport.queryString(source,
                "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = 'restarts'), 'false')")); i++) {
            Thread.sleep(100);
        }
    }
}
