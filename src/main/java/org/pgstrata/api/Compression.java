package org.pgstrata.api;

import java.util.Locale;

/** How objects are compressed in the repository. The name is recorded in every object reference. */
public enum Compression {
    ZSTD(".zst"), LZ4(".lz4"), NONE("");

    private final String suffix;

    Compression(String suffix) {
        this.suffix = suffix;
    }

    public String suffix() {
        return suffix;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Compression parse(String text) {
        for (Compression c : values()) {
            if (c.label().equals(text)) {
                return c;
            }
        }
        throw new PgstrataException(ErrorCode.USAGE, "unknown compression '" + text + "'",
                "use one of zstd, lz4, none");
    }
}
