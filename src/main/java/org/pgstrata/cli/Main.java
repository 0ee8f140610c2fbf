package org.pgstrata.cli;

/**
 * The entry point. {@code wal push} and {@code wal get} run once per WAL segment from
 * archive_command and restore_command, so they take a lean path that loads no command-line
 * framework; everything else goes through picocli.
 */
public final class Main {
    private Main() {
    }

    /** Set by a command whose normal end is Ctrl-C ({@code wal receive}): its interruption is no error. */
    static volatile boolean interruptEndsNormally;

    private static final String INTERRUPTED = "pgstrata: error: interrupted (Ctrl-C or SIGTERM) before the command finished; what it"
            + " had not finished is not kept or used, except a restore target it was writing, which is incomplete and will not start;"
            + " hint: run the command again (a restore: into that target with --delta, or into an empty one)";

    public static void main(String[] args) {
        int code;
        // Ctrl-C or SIGTERM: the JVM exits with 130 or 143 once its shutdown hooks ran, and said nothing. One line says so.
        Thread interrupted = new Thread(() -> {
            if (!interruptEndsNormally) {
                System.err.println(INTERRUPTED);
            }
        }, "pgstrata-interrupted");
        try {
            Runtime.getRuntime().addShutdownHook(interrupted);
        } catch (IllegalStateException e) {
            // Ctrl-C or SIGTERM came as the JVM started ("Shutdown in progress"): nothing ran. Said in one line, not a
            // stack trace; exit waits for the shutdown, which ends the JVM with the signal's code (130 or 143).
            System.err.println(INTERRUPTED);
            System.exit(143);
            return;
        }
        try {
            org.pgstrata.api.Verbose.printTo(System.err::println);
            org.pgstrata.api.Self.useNativeCache();
            code = LeanWal.handles(args) ? LeanWal.run(args) : Cli.run(args);
        } catch (OutOfMemoryError e) {
            // Out of the command itself (picocli hands only exceptions to its handler): one line, its own code.
            org.pgstrata.api.PgstrataException p = org.pgstrata.api.PgstrataException.outOfMemory(e);
            System.err.println("pgstrata: error: " + p.oneLine());
            code = LeanWal.exitStatus(args, p.code().exitCode()); // both paths map their own codes; this one is out of them
        } catch (LinkageError e) {
            // A class that failed to initialise (zstd-jni with no room to unpack its library) is an Error too: one line, not a trace.
            org.pgstrata.api.PgstrataException p = org.pgstrata.api.PgstrataException.nativeLibraryUnpack(e);
            if (p != null) {
                System.err.println("pgstrata: error: " + p.oneLine());
                code = LeanWal.exitStatus(args, p.code().exitCode());
            } else {
                System.err.println("pgstrata: internal error: " + e + " (please report it; set PGSTRATA_DEBUG=1 for a stack trace)");
                if (System.getenv("PGSTRATA_DEBUG") != null) {
                    e.printStackTrace();
                }
                code = LeanWal.exitStatus(args, org.pgstrata.api.ErrorCode.INTERNAL.exitCode());
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(interrupted);
        } catch (IllegalStateException e) {
            // interrupted as it ended: the hook says so
        }
        System.exit(code);
    }
}
