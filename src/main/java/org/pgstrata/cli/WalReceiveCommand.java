package org.pgstrata.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.wal.WalReceiver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "receive", description = {
    "Stream WAL into the repository's archive over a replication slot (no process per segment).",
    "Creates the physical slot if needed (it reserves WAL from that moment), archives every",
    "completed segment, and reports a position as flushed only once its segment is durable in",
    "the repository. Resumes from the slot after a restart; follows timeline switches. Runs until",
    "Ctrl-C, or with --stop-at until every segment up to that position is archived."})
final class WalReceiveCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--slot", defaultValue = "pgstrata", paramLabel = "NAME", description = "Replication slot (default: ${DEFAULT-VALUE}).")
    String slot;

    @Option(names = "--stop-at", paramLabel = "LSN", description = "Exit once the segment holding this position is archived.")
    String stopAt;

    @Option(names = "--compress", defaultValue = "zstd", paramLabel = "ALGO", description = "zstd (default), lz4 or none.")
    String compress;

    @Mixin
    ConnectionOptions conn;

    @Override
    int execute() {
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            // PostgreSQL's own rule (ReplicationSlotValidateName); its refusal came back as a server failure, exit 19
            throw new PgstrataException(ErrorCode.USAGE, "--slot " + slot + " is not a replication slot name PostgreSQL takes",
                    "use 1 to 63 lower-case letters, digits and underscores");
        }
        AtomicBoolean stop = new AtomicBoolean();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        // Ctrl-C or SIGTERM: ask the receiver to stop, and give it time to finish the segment at hand.
        Thread hook = new Thread(() -> {
            stop.set(true);
            try {
                done.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        Main.interruptEndsNormally = true;
        try {
            WalReceiver.Result r = new WalReceiver(new ConsoleProgress(System.err, quiet), stop::get).run(new WalReceiver.Options(repo.location(),
                    conn.resolve(System.getenv()), slot, stopAt == null ? null : Lsn.parse(stopAt), Compression.parse(compress)));
            out().println("archived " + r.segments() + " segment(s) on timeline " + r.timeline() + "; "
                    + (r.flushed() == null ? "no new position flushed" : "flushed up to " + r.flushed()));
            out().flush();
        } finally {
            // Also when the receiver failed: the hook must not keep the exit waiting 30 s for a receiver that has ended.
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook has what it waited for
            }
        }
        return 0;
    }
}
