package org.pgstrata.api;

/**
 * Lines for {@code --verbose} (or PGSTRATA_VERBOSE=1, which reaches archive_command too): what
 * the tool does behind a step, such as a storage request it retries. They go to standard error,
 * apart from results.
 */
public final class Verbose {
    private static volatile boolean enabled = isSet(System.getenv("PGSTRATA_VERBOSE"));

    private Verbose() {
    }

    private static boolean isSet(String v) {
        return v != null && !v.isBlank() && !v.equals("0") && !v.equalsIgnoreCase("false");
    }

    public static void enable() {
        enabled = true;
    }

    public static boolean enabled() {
        return enabled;
    }

    public static void log(String line) {
        if (enabled) {
            System.err.println("pgstrata: " + line);
        }
    }
}
