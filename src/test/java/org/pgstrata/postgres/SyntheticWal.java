package org.pgstrata.postgres;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * WAL of timeline 1 from LSN 0, written byte by byte as PostgreSQL lays it out (xlog_internal.h,
 * xlogrecord.h): page headers, 8-byte aligned records, records that run across pages and
 * segments. Segments of 1 MiB, PostgreSQL's smallest.
 */
public final class SyntheticWal {
    public static final int SEG = 1 << 20;
    static final int PAGE = 8192;

    private final byte[] bytes;
    private long pos;
    private long prev;

    public SyntheticWal(int segments) {
        bytes = new byte[segments * SEG];
        pos = 0;
        pageHeader(0, 0);
        pos = 40;
    }

    public byte[] segment(int n) {
        return java.util.Arrays.copyOfRange(bytes, n * SEG, (n + 1) * SEG);
    }

    public Lsn creation(long oid, String location) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.writeBytes(le32(oid));
        data.writeBytes(location.getBytes(StandardCharsets.UTF_8));
        data.write(0);
        return record(5, 0x00, data.toByteArray());
    }

    /** A record of another resource manager (storage) with {@code len} bytes of data. */
    public Lsn filler(int len) {
        return record(2, 0x10, new byte[len]);
    }

    /** Fillers until the next record starts at {@code lsn} (8-byte aligned, not within 300 bytes after a page's start). */
    public void fillUpTo(long lsn) {
        while (pos < lsn - 300) {
            filler(200);
        }
        int total = (int) (lsn - pos);
        filler(total - 26 <= 255 ? total - 26 : total - 29);
        if (pos != lsn) {
            throw new IllegalStateException("filled to " + pos + ", not " + lsn);
        }
    }

    private Lsn record(int rmid, int info, byte[] main) {
        // The main data's header: 255 and a 1-byte length, or 254 and a 4-byte one
        int h = main.length > 255 ? 5 : 2;
        byte[] rec = new byte[24 + h + main.length];
        System.arraycopy(le32(rec.length), 0, rec, 0, 4);
        System.arraycopy(le64(prev), 0, rec, 8, 8);
        rec[16] = (byte) info;
        rec[17] = (byte) rmid;
        if (h == 2) {
            rec[24] = (byte) 255;
            rec[25] = (byte) main.length;
        } else {
            rec[24] = (byte) 254;
            System.arraycopy(le32(main.length), 0, rec, 25, 4);
        }
        System.arraycopy(main, 0, rec, 24 + h, main.length);
        CRC32C crc = new CRC32C();
        crc.update(rec, 24, rec.length - 24);
        crc.update(rec, 0, 20);
        System.arraycopy(le32(crc.getValue()), 0, rec, 20, 4);
        if (pos % PAGE == 0) {
            pageHeader(pos, 0);
            pos += pos % SEG == 0 ? 40 : 24;
        }
        long start = pos;
        int written = 0;
        while (written < rec.length) {
            if (pos % PAGE == 0) {
                pageHeader(pos, rec.length - written);
                pos += pos % SEG == 0 ? 40 : 24;
            }
            int n = (int) Math.min(rec.length - written, PAGE - pos % PAGE);
            System.arraycopy(rec, written, bytes, (int) pos, n);
            written += n;
            pos += n;
        }
        pos = (pos + 7) & ~7L;
        prev = start;
        return new Lsn(start);
    }

    private void pageHeader(long at, int remaining) {
        boolean longHeader = at % SEG == 0;
        int info = (remaining > 0 ? 1 : 0) | (longHeader ? 2 : 0);
        int o = (int) at;
        bytes[o] = 0x18;
        bytes[o + 1] = (byte) 0xD1;
        bytes[o + 2] = (byte) info;
        bytes[o + 4] = 1; // timeline 1
        System.arraycopy(le64(at), 0, bytes, o + 8, 8);
        System.arraycopy(le32(remaining), 0, bytes, o + 16, 4);
        if (longHeader) {
            System.arraycopy(le64(7_000_000_000_000_000_000L), 0, bytes, o + 24, 8);
            System.arraycopy(le32(SEG), 0, bytes, o + 32, 4);
            System.arraycopy(le32(PAGE), 0, bytes, o + 36, 4);
        }
    }

    private static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    private static byte[] le64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >> (8 * i));
        }
        return b;
    }
}
