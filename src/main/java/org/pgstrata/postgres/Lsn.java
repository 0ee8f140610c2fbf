package org.pgstrata.postgres;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/** A WAL position, printed the way PostgreSQL prints it ("16/3002D50"). */
public record Lsn(long value) implements Comparable<Lsn> {

    public static final Lsn ZERO = new Lsn(0);

    /** Parses "X/Y" with X and Y in hex; rejects anything else with the text in the message. */
    public static Lsn parse(String text) {
        if (text == null) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid LSN: null", "write an LSN as X/Y in hex, e.g. 0/3000028");
        }
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
            throw invalid(text);
        }
        try {
            long hi = Long.parseUnsignedLong(text.substring(0, slash).trim(), 16);
            long lo = Long.parseUnsignedLong(text.substring(slash + 1).trim(), 16);
            if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
                throw invalid(text);
            }
            return new Lsn((hi << 32) | lo);
        } catch (NumberFormatException e) {
            throw invalid(text);
        }
    }

    private static PgstrataException invalid(String text) {
        return new PgstrataException(ErrorCode.USAGE, "invalid LSN '" + text + "'",
                "write an LSN as X/Y in hex, e.g. 0/3000028");
    }

    /** The segment number that holds the byte at this position. */
    public long segmentNumber(long segmentSize) {
        return Long.divideUnsigned(value, segmentSize);
    }

    public boolean isBefore(Lsn other) {
        return compareTo(other) < 0;
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public String toString() {
        return Long.toHexString(value >>> 32).toUpperCase() + "/" + Long.toHexString(value & 0xFFFFFFFFL).toUpperCase();
    }
}
