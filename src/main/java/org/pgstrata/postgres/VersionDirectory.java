package org.pgstrata.postgres;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The directory PostgreSQL makes for itself in a tablespace location, {@code PG_<major>_<catalog
 * version>}. Clusters of different major versions can share a location (pg_upgrade's old and new
 * ones do); each owns only its own major version's directory there.
 */
public final class VersionDirectory {
    private static final Pattern NAME = Pattern.compile("PG_\\d+_\\d+");
    private static final Pattern TABLESPACE_LINK = Pattern.compile("pg_tblspc/\\d+");
    private static final Pattern IN_ONE = Pattern.compile("pg_tblspc/\\d+/(PG_\\d+_\\d+)(/.*)?");

    private VersionDirectory() {
    }

    /** Whether {@code name} has the form of a version directory. */
    public static boolean isVersionDirectory(String name) {
        return NAME.matcher(name).matches();
    }

    /** Whether the version directory {@code name} belongs to major version {@code major}. */
    public static boolean belongsTo(String name, String major) {
        return name.startsWith("PG_" + major + "_");
    }

    /**
     * Whether the directory {@code name}, found in directory {@code rel} of a data directory (relative
     * to it), is another major version's directory in a tablespace location.
     */
    public static boolean isForeignEntry(String rel, String name, String major) {
        return TABLESPACE_LINK.matcher(rel).matches() && isVersionDirectory(name) && !belongsTo(name, major);
    }

    /** Whether {@code path}, relative to a data directory, lies in another major version's directory of a tablespace location. */
    public static boolean isForeignPath(String path, String major) {
        Matcher m = IN_ONE.matcher(path);
        return m.matches() && !belongsTo(m.group(1), major);
    }
}
