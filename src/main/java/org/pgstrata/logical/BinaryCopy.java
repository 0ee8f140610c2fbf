package org.pgstrata.logical;

/**
 * PostgreSQL's COPY binary format, as the differential reads it: each CopyData message is one
 * row (a 16-bit field count, then per field a 32-bit length, -1 for NULL, and the value's
 * binary send form), except that the first also carries the file header and the last is the
 * trailer (a field count of -1). A row's bytes depend only on its values, not on where it sits
 * in the scan, so they can be hashed and compared between an ordered and an unordered read.
 */
final class BinaryCopy {
    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};

    private BinaryCopy() {
    }

    /** Where the row starts in a message, or -1 when the message is the trailer. */
    static int rowStart(byte[] m) {
        int start = 0;
        if (m.length >= SIGNATURE.length + 8 && java.util.Arrays.equals(m, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            start = SIGNATURE.length + 8 + readInt(m, SIGNATURE.length + 4); // flags, header extension length, extension
        }
        if (m.length - start < 2 || (m[start] == (byte) 0xFF && m[start + 1] == (byte) 0xFF)) {
            return -1;
        }
        return start;
    }

    /** An integer field (smallint, integer or bigint) of the row that starts at {@code start}. */
    static long integerField(byte[] m, int start, int field) {
        int pos = start + 2;
        for (int i = 0; i < field; i++) {
            int len = readInt(m, pos);
            pos += 4 + Math.max(len, 0);
        }
        int len = readInt(m, pos);
        pos += 4;
        return switch (len) {
            case 8 -> readLong(m, pos);
            case 4 -> readInt(m, pos);
            case 2 -> (short) (((m[pos] & 0xFF) << 8) | (m[pos + 1] & 0xFF));
            default -> throw new IllegalStateException("a key field of " + len + " bytes is not an integer");
        };
    }

    static int readInt(byte[] b, int pos) {
        return ((b[pos] & 0xFF) << 24) | ((b[pos + 1] & 0xFF) << 16) | ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
    }

    static long readLong(byte[] b, int pos) {
        return ((long) readInt(b, pos) << 32) | (readInt(b, pos + 4) & 0xFFFFFFFFL);
    }

    /**
     * Where the field values begin, after the field count and the first {@code skip} fields: a
     * row's hash covers its values from there, so that a scan that also reads the row's ctid
     * (one more field, first) hashes the same bytes as one that does not.
     */
    static int valuesStart(byte[] m, int start, int skip) {
        int pos = start + 2;
        for (int i = 0; i < skip; i++) {
            pos += 4 + Math.max(readInt(m, pos), 0);
        }
        return pos;
    }

    /** The ctid in the first field of the row that starts at {@code start}, as tid text "(block,offset)". */
    static String tidField(byte[] m, int start) {
        int pos = start + 2 + 4;
        long block = readInt(m, pos) & 0xFFFFFFFFL;
        int offset = ((m[pos + 4] & 0xFF) << 8) | (m[pos + 5] & 0xFF);
        return "(" + block + "," + offset + ")";
    }
}
