package org.pgstrata.api;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Child programs that must not outlive the command (pg_dump, pg_restore). The JVM leaves its
 * children running when it exits: stopped by Ctrl-C or SIGTERM, a logical restore's pg_restore
 * went on loading, a pg_dump waiting for a lock waited forever. Started here, each child gets
 * SIGTERM when the JVM shuts down (the clients' own handler then stops their parallel workers and
 * cancels their queries), and SIGKILL if it has not ended a few seconds later.
 */
public final class ChildProcesses {
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
    private static volatile boolean stopping;

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(ChildProcesses::stopAll, "pgstrata-stop-children"));
        } catch (IllegalStateException e) {
            stopping = true; // the JVM is shutting down already: start() stops what it starts
        }
    }

    private ChildProcesses() {
    }

    /** Starts {@code pb}'s program, to be stopped with the JVM if it still runs then. */
    public static Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        RUNNING.add(p);
        p.onExit().thenRun(() -> RUNNING.remove(p));
        if (stopping) { // started as the hook ran: it may have missed this one
            p.destroy();
        }
        return p;
    }

    /** Whether the JVM is shutting down (Ctrl-C, SIGTERM or an exit): a child that fails now failed because it was stopped. */
    public static boolean shuttingDown() {
        if (stopping) {
            return true;
        }
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    private static void stopAll() {
        stopping = true;
        for (Process p : RUNNING) {
            p.destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Process p : RUNNING) {
            try {
                if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }
}
