package org.pgstrata.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Child programs that must not outlive the command (pg_dump, pg_restore). The JVM leaves its
 * children running when it exits: stopped by Ctrl-C or SIGTERM, a logical restore's pg_restore
 * went on loading, a pg_dump waiting for a lock waited forever. Started here, each child gets
 * SIGTERM when the JVM shuts down (the clients' own handler then stops their parallel workers and
 * cancels their queries), and SIGKILL if it has not ended a few seconds later.
 *
 * <p>SIGKILL runs no shutdown hook, so on Linux each child is also started through util-linux
 * {@code setpriv --pdeathsig KILL}, which asks the kernel to kill it when its parent goes; without
 * it a pg_restore went on loading into the target and a pg_dump went on holding its locks after
 * {@code kill -9}. The kernel's parent is the thread that forked (whatever the JDK's launch
 * mechanism: posix_spawn, vfork and fork all fork from the calling thread), and the signal comes
 * when that thread ends; so every child is forked by one thread kept for the JVM's life, never by
 * a worker that may end while its child runs. Without setpriv, children start as before.
 * Known gap: a JVM killed between the fork and setpriv's prctl leaves that one child running.
 */
public final class ChildProcesses {
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
    private static volatile boolean stopping;
    /** The one thread that forks every child: a child gets its parent-death signal when the thread that forked it ends. */
    private static final ExecutorService FORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "pgstrata-child-parent");
        t.setDaemon(true);
        return t;
    });

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
        CipherPass.keepOut(pb.environment()); // clients all: none reads the repository
        ProcessBuilder started = killedWithParent(pb);
        Future<Process> forked = FORKER.submit(started::start);
        Process child = null;
        boolean interrupted = false;
        while (child == null) {
            try {
                child = forked.get(); // not abandoned when interrupted: the child may have started
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(e.getCause());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Process p = child;
        RUNNING.add(p);
        p.onExit().thenRun(() -> RUNNING.remove(p));
        if (stopping) { // started as the hook ran: it may have missed this one
            p.destroy();
        }
        return p;
    }

    /**
     * {@code pb} with its program run through {@code setpriv --pdeathsig KILL}, which sets the
     * signal and then executes the program in its place (same pid, so SIGTERM reaches the program
     * itself). Unchanged when there is no setpriv, or when the program is not an executable file,
     * so that a missing program still fails to start with the error it gave before.
     */
    static ProcessBuilder killedWithParent(ProcessBuilder pb) {
        List<String> cmd = pb.command();
        String setpriv = Setpriv.PATH;
        if (setpriv == null || cmd.isEmpty() || !cmd.get(0).contains("/") || !Files.isRegularFile(Path.of(cmd.get(0)))
                || !Files.isExecutable(Path.of(cmd.get(0)))) {
            return pb;
        }
        List<String> wrapped = new ArrayList<>(List.of(setpriv, "--pdeathsig", "KILL", "--"));
        wrapped.addAll(cmd);
        ProcessBuilder out = new ProcessBuilder(wrapped).directory(pb.directory()).redirectInput(pb.redirectInput())
                .redirectOutput(pb.redirectOutput()).redirectError(pb.redirectError()).redirectErrorStream(pb.redirectErrorStream());
        out.environment().clear();
        out.environment().putAll(pb.environment());
        return out;
    }

    /**
     * util-linux setpriv where the system keeps it (never looked up on a PATH a user may set),
     * once it has shown that it takes --pdeathsig (an older util-linux lacks the option: it would
     * refuse it, and no child would start); null off Linux or without it.
     * Looked up when the first child starts: one run of setpriv, a few milliseconds.
     */
    private static final class Setpriv {
        static final String PATH = find();

        private static String find() {
            if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
                return null;
            }
            for (String c : List.of("/usr/bin/setpriv", "/bin/setpriv")) {
                if (Files.isRegularFile(Path.of(c)) && Files.isExecutable(Path.of(c))) {
                    return takesPdeathsig(c) ? c : null;
                }
            }
            return null;
        }

        private static boolean takesPdeathsig(String setpriv) {
            try {
                Process p = new ProcessBuilder(setpriv, "--pdeathsig", "KILL", "--", setpriv, "--version")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return false;
                }
                return p.exitValue() == 0;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
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
