package org.pgstrata.cli;

/**
 * The entry point. {@code wal push} and {@code wal get} run once per WAL segment from
 * archive_command and restore_command, so they take a lean path that loads no command-line
 * framework; everything else goes through picocli.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code;
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
        System.exit(code);
    }
}
