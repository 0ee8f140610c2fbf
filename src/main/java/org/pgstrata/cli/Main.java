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
        org.pgstrata.api.Verbose.printTo(System.err::println);
        org.pgstrata.api.Self.useNativeCache();
        int code = LeanWal.handles(args) ? LeanWal.run(args) : Cli.run(args);
        System.exit(code);
    }
}
