package org.pgstrata.postgres;

import java.util.regex.Pattern;

/** WAL segment file names: 8 hex digits of timeline, then the segment number as two 8-digit halves. */
public final class WalFileName {
    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    private static final Pattern HISTORY = Pattern.compile("[0-9A-F]{8}\\.history");

    private WalFileName() {
    }

    public static String segment(int timeline, long segmentNumber, long segmentSize) {
        long perId = 0x100000000L / segmentSize;
        return String.format("%08X%08X%08X", timeline, segmentNumber / perId, segmentNumber % perId);
    }

    /** The name of timeline {@code timeline}'s history file. */
    public static String history(int timeline) {
        return String.format("%08X.history", timeline);
    }

    public static boolean isSegment(String name) {
        return SEGMENT.matcher(name).matches();
    }

    public static boolean isHistory(String name) {
        return HISTORY.matcher(name).matches();
    }

    public static int timeline(String segmentName) {
        return (int) Long.parseLong(segmentName.substring(0, 8), 16);
    }

    public static long segmentNumber(String segmentName, long segmentSize) {
        long perId = 0x100000000L / segmentSize;
        long hi = Long.parseLong(segmentName.substring(8, 16), 16);
        long lo = Long.parseLong(segmentName.substring(16, 24), 16);
        return hi * perId + lo;
    }
}
