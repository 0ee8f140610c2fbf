package org.pgstrata.api;

import java.util.function.Consumer;

/**
 * What the tool does behind a step, for {@code --verbose} (or PGSTRATA_VERBOSE=1, which reaches
 * archive_command too): such as a storage request it retries. Also the warnings of code that
 * runs apart from any command's progress (a lock renewed in the background). The command line
 * says where the lines go ({@link #printTo}); until it does, they go nowhere.
 */
public final class Verbose {
    private static volatile boolean enabled = isSet(System.getenv("PGSTRATA_VERBOSE"));
    private static volatile Consumer<String> sink = line -> { };

    private Verbose() {
    }

    private static boolean isSet(String v) {
        return v != null && !v.isBlank() && !v.equals("0") && !v.equalsIgnoreCase("false");
    }

    /** Where lines go: the command line passes standard error. */
    public static void printTo(Consumer<String> lines) {
        sink = lines;
    }

    public static void enable() {
        enabled = true;
    }

    /** Back to quiet (for tests that turned it on). */
    public static void disable() {
        enabled = false;
    }

    public static boolean enabled() {
        return enabled;
    }

    /** A line for verbose output only. */
    public static void log(String line) {
        if (enabled) {
            sink.accept("pgstrata: " + OneLine.of(line));
        }
    }

    /** A warning that is always said. */
    public static void warn(String line) {
        sink.accept("pgstrata: warning: " + OneLine.of(line));
    }
}
