package org.pgstrata.api;

import java.util.Locale;

/** The kinds of backup a repository holds. The lower-case names appear in manifests and JSON. */
public enum BackupType {
    FULL, INCR, DIFF, REVERSE;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static BackupType parse(String text) {
        for (BackupType t : values()) {
            if (t.label().equals(text)) {
                return t;
            }
        }
        throw new PgstrataException(ErrorCode.USAGE, "unknown backup type '" + text + "'",
                "use one of full, incr, diff, reverse");
    }
}
