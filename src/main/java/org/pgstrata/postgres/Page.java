package org.pgstrata.postgres;

/**
 * Facts about an 8 KiB heap or index page read from a relation file (bufpage.h): the header starts
 * with pd_lsn (two little-endian uint32, high half first), then pd_checksum (uint16 at offset 8);
 * pd_upper is at offset 14. A page whose pd_upper is zero is new (never initialised).
 */
public final class Page {
    public static final int SIZE = 8192;
    /** Blocks in one 1 GiB segment file of a relation (RELSEG_SIZE). */
    public static final int BLOCKS_PER_SEGMENT = 131072;

    private Page() {
    }

    public static Lsn lsn(byte[] buf, int off) {
        long hi = u32(buf, off);
        long lo = u32(buf, off + 4);
        return new Lsn((hi << 32) | lo);
    }

    public static int storedChecksum(byte[] buf, int off) {
        return (buf[off + 8] & 0xFF) | ((buf[off + 9] & 0xFF) << 8);
    }

    public static boolean isNew(byte[] buf, int off) {
        return ((buf[off + 14] & 0xFF) | ((buf[off + 15] & 0xFF) << 8)) == 0;
    }

    public static boolean isAllZero(byte[] buf, int off) {
        for (int i = off; i < off + SIZE; i++) {
            if (buf[i] != 0) {
                return false;
            }
        }
        return true;
    }

    static long u32(byte[] b, int off) {
        return (b[off] & 0xFFL) | ((b[off + 1] & 0xFFL) << 8) | ((b[off + 2] & 0xFFL) << 16) | ((b[off + 3] & 0xFFL) << 24);
    }
}
