package org.pgstrata.postgres;

/** Server settings as current_setting() prints them. */
public final class Setting {
    private Setting() {
    }

    /** A size setting in bytes: "16MB", "1GB", "8192kB", or a plain number of bytes. */
    public static long bytes(String text) {
        String t = text.trim();
        long unit = t.endsWith("kB") ? 1024 : t.endsWith("MB") ? 1024L * 1024 : t.endsWith("GB") ? 1024L * 1024 * 1024 : 1;
        return Long.parseLong(t.replaceAll("[^0-9]", "")) * unit;
    }
}
