package org.pgstrata.api;

/**
 * How an incremental or differential finds what changed since the backup it builds on.
 * {@link #SCAN} reads every block and compares it with the reference's block map;
 * {@link #WAL_SUMMARY} reads only the blocks PostgreSQL 17+'s WAL summaries name (and the files
 * that must be compared whole); {@link #AUTO} uses the summaries when they can be trusted and
 * scans otherwise.
 */
public enum ChangeSource {
    AUTO("auto"),
    SCAN("scan"),
    WAL_SUMMARY("wal-summary");

    private final String label;

    ChangeSource(String label) {
        this.label = label;
    }

    /** As the command line and the manifest spell it. */
    public String label() {
        return label;
    }

    public static ChangeSource parse(String s) {
        for (ChangeSource c : values()) {
            if (c.label.equals(s)) {
                return c;
            }
        }
        throw new PgstrataException(ErrorCode.USAGE, "unknown change source '" + s + "'", "use auto, scan or wal-summary");
    }
}
