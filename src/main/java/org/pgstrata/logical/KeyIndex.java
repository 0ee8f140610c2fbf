package org.pgstrata.logical;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import org.pgstrata.logical.Catalog.KeyKind;

/**
 * A table's key index: for every row in key order, the primary key and the XXH64 of the row's
 * COPY text. A logical full writes one per table with a primary key; a differential reads it
 * back in step with the table's current rows to tell inserts, updates and deletes apart.
 *
 * <p>Format: "PGSKI1", then per row a 1 byte, each key column (an integer as the zigzag varint
 * of its difference from the previous row's; anything else as a varint length and its bytes),
 * and the 8-byte hash; a 0 byte ends it.
 */
final class KeyIndex {
    private static final byte[] MAGIC = {'P', 'G', 'S', 'K', 'I', '1'};

    private KeyIndex() {
    }

    /** A row's key: a Long or a byte[] (the text, escapes undone) per column. */
    record Key(Object[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.deepEquals(values, k.values);
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(values);
        }

        /** The key as COPY text fields, tab-separated, with a line end. */
        byte[] copyLine() {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < values.length; i++) {
                if (i > 0) {
                    out.write('\t');
                }
                out.writeBytes(values[i] instanceof Long l ? Long.toString(l).getBytes() : CopyText.encode((byte[]) values[i]));
            }
            out.write('\n');
            return out.toByteArray();
        }
    }

    /** Compares keys the way the server sorted them (see {@link Catalog.Table#keyOrder()}). */
    static int compare(Key a, Key b) {
        for (int i = 0; i < a.values.length; i++) {
            int c = a.values[i] instanceof Long x ? Long.compare(x, (Long) b.values[i])
                    : Arrays.compareUnsigned((byte[]) a.values[i], (byte[]) b.values[i]);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /** The key of a COPY row, given the key columns' positions among its fields. */
    static Key keyOf(byte[] row, int length, int fields, int[] positions, List<KeyKind> kinds) {
        int[] bounds = CopyText.fieldBounds(row, length, fields);
        Object[] values = new Object[positions.length];
        for (int i = 0; i < positions.length; i++) {
            int from = bounds[2 * positions[i]];
            int to = bounds[2 * positions[i] + 1];
            values[i] = kinds.get(i) == KeyKind.LONG ? (Object) CopyText.parseLong(row, from, to) : CopyText.decode(row, from, to);
        }
        return new Key(values);
    }

    static final class Writer {
        private final DataOutputStream out;
        private final long[] previous;
        private long rows;

        Writer(OutputStream out, int keyColumns) throws IOException {
            this.out = new DataOutputStream(new java.io.BufferedOutputStream(out, 1 << 16));
            this.previous = new long[keyColumns];
            this.out.write(MAGIC);
        }

        void add(Key key, long hash) throws IOException {
            out.write(1);
            for (int i = 0; i < key.values.length; i++) {
                if (key.values[i] instanceof Long v) {
                    long delta = v - previous[i];
                    previous[i] = v;
                    writeVarLong(out, (delta << 1) ^ (delta >> 63));
                } else {
                    byte[] b = (byte[]) key.values[i];
                    writeVarLong(out, b.length);
                    out.write(b);
                }
            }
            out.writeLong(hash);
            rows++;
        }

        long rows() {
            return rows;
        }

        void finish() throws IOException {
            out.write(0);
            out.flush();
        }
    }

    static final class Reader {
        private final DataInputStream in;
        private final List<KeyKind> kinds;
        private final long[] previous;
        private Key key;
        private long hash;

        Reader(InputStream in, List<KeyKind> kinds) throws IOException {
            this.in = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16));
            this.kinds = kinds;
            this.previous = new long[kinds.size()];
            byte[] magic = this.in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException("not a key index");
            }
        }

        /** Moves to the next row; false at the end. */
        boolean next() throws IOException {
            int marker = in.read();
            if (marker == 0) {
                key = null;
                return false;
            }
            if (marker != 1) {
                throw new IOException("damaged key index");
            }
            Object[] values = new Object[kinds.size()];
            for (int i = 0; i < values.length; i++) {
                if (kinds.get(i) == KeyKind.LONG) {
                    long z = readVarLong(in);
                    previous[i] += (z >>> 1) ^ -(z & 1);
                    values[i] = previous[i];
                } else {
                    values[i] = in.readNBytes((int) readVarLong(in));
                }
            }
            key = new Key(values);
            hash = in.readLong();
            return true;
        }

        Key key() {
            return key;
        }

        long hash() {
            return hash;
        }
    }

    private static void writeVarLong(DataOutputStream out, long v) throws IOException {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long readVarLong(DataInputStream in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("key index ends early");
            }
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IOException("damaged key index");
    }

    /**
     * Reads a whole index of one integer key column into {@code keys} and {@code hashes} (sized
     * to its row count), without an object per row. Returns the number of rows read; throws
     * when the content is not a well-formed index of that many rows in ascending key order.
     */
    static int readIntegerKeys(byte[] content, long[] keys, long[] hashes) throws IOException {
        if (content.length < MAGIC.length || !Arrays.equals(content, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IOException("not a key index");
        }
        int pos = MAGIC.length;
        long previous = 0;
        int n = 0;
        try {
            while (true) {
                byte marker = content[pos++];
                if (marker == 0) {
                    break;
                }
                if (marker != 1 || n == keys.length) {
                    throw new IOException("damaged key index (row " + n + ")");
                }
                long z = 0;
                for (int shift = 0; ; shift += 7) {
                    byte b = content[pos++];
                    z |= (long) (b & 0x7F) << shift;
                    if (b >= 0) {
                        break;
                    }
                    if (shift > 63) {
                        throw new IOException("damaged key index (row " + n + ")");
                    }
                }
                long key = previous + ((z >>> 1) ^ -(z & 1));
                if (n > 0 && key <= previous) {
                    throw new IOException("key index out of order at row " + n);
                }
                previous = key;
                keys[n] = key;
                hashes[n] = BinaryCopy.readLong(content, pos);
                pos += 8;
                n++;
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new EOFException("key index ends early (row " + n + ")");
        }
        if (pos != content.length) {
            throw new IOException("damaged key index (bytes after its end)");
        }
        return n;
    }
}
