package org.pgstrata.logical;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * PostgreSQL's COPY text format, as far as a logical differential needs it: a row is one line,
 * fields are separated by tabs (a tab inside a value is written as {@code \t}, so a raw tab is
 * always a separator), and backslash escapes stand for the control characters and the backslash.
 */
final class CopyText {
    private CopyText() {
    }

    /** The length of a row without its line end. */
    static int lineLength(byte[] row) {
        int n = row.length;
        while (n > 0 && (row[n - 1] == '\n' || row[n - 1] == '\r')) {
            n--;
        }
        return n;
    }

    /** The start and end offsets of each field of a row: field i spans [bounds[2i], bounds[2i+1]). */
    static int[] fieldBounds(byte[] row, int length, int fields) {
        int[] bounds = new int[fields * 2];
        int f = 0;
        int start = 0;
        for (int i = 0; i <= length && f < fields; i++) {
            if (i == length || row[i] == '\t') {
                bounds[2 * f] = start;
                bounds[2 * f + 1] = i;
                f++;
                start = i + 1;
            }
        }
        if (f < fields) {
            throw new IllegalStateException("a COPY row has " + f + " fields, " + fields + " expected");
        }
        return bounds;
    }

    /** The value a field stands for (its escapes undone). */
    static byte[] decode(byte[] row, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            byte b = row[i];
            if (b != '\\' || i + 1 >= to) {
                out.write(b);
                continue;
            }
            byte e = row[++i];
            switch (e) {
                case 'b' -> out.write('\b');
                case 'f' -> out.write('\f');
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case 'v' -> out.write(0x0B);
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        int k = 0;
                        while (k < 2 && i + 1 < to && row[i + 1] >= '0' && row[i + 1] <= '7') {
                            v = v * 8 + (row[++i] - '0');
                            k++;
                        }
                        out.write(v);
                    } else {
                        out.write(e);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    /** A value written as a COPY text field. */
    static byte[] encode(byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 8);
        for (byte b : value) {
            switch (b) {
                case '\\' -> out.writeBytes(new byte[] {'\\', '\\'});
                case '\b' -> out.writeBytes(new byte[] {'\\', 'b'});
                case '\f' -> out.writeBytes(new byte[] {'\\', 'f'});
                case '\n' -> out.writeBytes(new byte[] {'\\', 'n'});
                case '\r' -> out.writeBytes(new byte[] {'\\', 'r'});
                case '\t' -> out.writeBytes(new byte[] {'\\', 't'});
                case 0x0B -> out.writeBytes(new byte[] {'\\', 'v'});
                default -> out.write(b);
            }
        }
        return out.toByteArray();
    }

    /** A field holding an integer, parsed without building a string. */
    static long parseLong(byte[] row, int from, int to) {
        if (from >= to) {
            throw new NumberFormatException("empty integer field");
        }
        boolean negative = row[from] == '-';
        long v = 0;
        for (int i = negative ? from + 1 : from; i < to; i++) {
            int d = row[i] - '0';
            if (d < 0 || d > 9) {
                throw new NumberFormatException("not an integer: " + new String(Arrays.copyOfRange(row, from, to)));
            }
            v = v * 10 - d; // accumulate negatively so that Long.MIN_VALUE parses
        }
        return negative ? v : -v;
    }
}
