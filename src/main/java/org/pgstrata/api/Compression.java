package org.pgstrata.api;

import java.util.Locale;

/** How objects are compressed in the repository. The name is recorded in every object reference. */
public enum Compression {
    ZSTD(".zst"), LZ4(".lz4"), NONE("");

    /** The zstd levels a user may choose ({@code backup --compress-level}): zstd's fast levels from -7, and 1 to 19. */
    public static final int ZSTD_MIN_LEVEL = -7;
    public static final int ZSTD_MAX_LEVEL = 19;

    /** Whether {@code level} is one of the zstd levels a user may choose. */
    public static boolean zstdLevel(int level) {
        return level >= ZSTD_MIN_LEVEL && level <= ZSTD_MAX_LEVEL && level != 0;
    }

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
