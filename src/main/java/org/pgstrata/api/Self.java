package org.pgstrata.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How to run this pgstrata again from a shell command that PostgreSQL executes
 * (archive_command, restore_command): the same Java, the same class path, with flags that make
 * a short-lived JVM start fast.
 */
public final class Self {
    /** Quick start for a process that lives for one WAL file: no JIT tiers, no GC threads, CDS on. */
    private static final List<String> FAST_START = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
            "-XX:-UsePerfData");

    private Self() {
    }

    /** The command line prefix, each element shell-quoted, that runs pgstrata's main class. */
    public static String shellCommand() {
        List<String> parts = new ArrayList<>();
        parts.add(quote(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        parts.addAll(FAST_START);
        String pgbin = System.getProperty("pgstrata.pgbin.dir");
        if (pgbin != null) {
            parts.add(quote("-Dpgstrata.pgbin.dir=" + pgbin));
        }
        parts.add("-cp");
        parts.add(quote(System.getProperty("java.class.path")));
        parts.add("org.pgstrata.cli.Main");
        return String.join(" ", parts);
    }

    /** Quotes a word for sh. */
    public static String quote(String s) {
        if (s.matches("[A-Za-z0-9_./=:,+@%-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** archive_command for a repository. */
    public static String archiveCommand(String repo) {
        return shellCommand() + " wal push --repo " + quote(Path.of(repo).toAbsolutePath().normalize().toString()) + " %p";
    }

    /** restore_command for a repository. */
    public static String restoreCommand(String repo) {
        return shellCommand() + " wal get --repo " + quote(Path.of(repo).toAbsolutePath().normalize().toString()) + " %f %p";
    }

    /** A value for a postgresql.conf line: single-quoted, inner quotes doubled. */
    public static String confValue(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
