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

    /**
     * {@code code}, or the I/O error's (22) when the command succeeded but its output did not reach
     * standard output: {@code pgstrata list --json > backups.json} on a full disk, or with stdout
     * closed, exited 0 with the file empty or cut short (PrintStream keeps write errors to itself).
     * A pipe whose reader is gone ({@code pgstrata list | head -1}) is no error: the reader had what
     * it wanted, as with the programs that SIGPIPE ends quietly.
     */
    static int outputWritten(int code) {
        System.out.flush();
        if (code != 0 || !System.out.checkError()) {
            return code;
        }
        String target;
        try {
            target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/1")).toString();
        } catch (java.io.IOException | RuntimeException e) {
            target = "";
        }
        if (target.startsWith("pipe:")) {
            return code;
        }
        if (!openForWriting()) {
            target = ""; // stdout was closed when the JVM started, which then opened one of its own files (read-only) as descriptor 1
        }
        System.err.println("pgstrata: error: the command finished, but its output could not be written to standard output"
                + (target.isEmpty() ? " (closed)" : " (" + target + ")") + ", so it is lost or incomplete; hint: send the output to a file "
                + "on a disk with room (or a pipe), not to a full disk or a closed descriptor, and run the command again");
        return org.pgstrata.api.ErrorCode.IO.exitCode();
    }

    /** Whether descriptor 1 is open for writing (its flags in /proc/self/fdinfo/1, in octal: access mode O_WRONLY or O_RDWR). */
    private static boolean openForWriting() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/1"))) {
                if (line.startsWith("flags:")) {
                    return (Integer.parseInt(line.substring("flags:".length()).strip(), 8) & 3) != 0;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or nothing to read: take the name as it is
        }
        return true;
    }

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
            org.pgstrata.api.Self.loadNativeLibraries();
            code = LeanWal.handles(args) ? LeanWal.run(args) : Cli.run(args);
        } catch (OutOfMemoryError e) {
            // Out of the command itself (picocli hands only exceptions to its handler): one line, its own code.
            org.pgstrata.api.PgstrataException p = org.pgstrata.api.PgstrataException.outOfMemory(e);
            System.err.println("pgstrata: error: " + p.oneLine());
            code = LeanWal.exitStatus(args, p.code().exitCode()); // both paths map their own codes; this one is out of them
        } catch (LinkageError e) {
            // A class that failed to initialise (zstd's, without its native library) is an Error too: one line, not a trace.
            org.pgstrata.api.PgstrataException p = org.pgstrata.api.Self.nativeLibraryFailure(e);
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
        code = outputWritten(code);
        try {
            Runtime.getRuntime().removeShutdownHook(interrupted);
        } catch (IllegalStateException e) {
            // interrupted as it ended: the hook says so
        }
        System.exit(code);
    }
}
