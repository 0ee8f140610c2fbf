package org.pgstrata.postgres;

/**
 * The long page header at the start of every WAL segment (access/xlog_internal.h):
 * xlp_magic (uint16), xlp_info (uint16), xlp_tli (uint32), xlp_pageaddr (uint64),
 * xlp_rem_len (uint32), padding to 24 bytes, then xlp_sysid (uint64), xlp_seg_size (uint32) and
 * xlp_xlog_blcksz (uint32). Little-endian.
 */
public record WalSegmentHeader(int magic, int timeline, long pageAddress, long systemIdentifier, int segmentSize) {
    /** xlp_info flag: this page has the long header. */
    private static final int XLP_LONG_HEADER = 0x0002;
    public static final int LENGTH = 40;

    /** Parses the header, or returns null when the bytes do not start with a long page header. */
    public static WalSegmentHeader parse(byte[] b) {
        if (b.length < LENGTH) {
            return null;
        }
        int magic = (b[0] & 0xFF) | ((b[1] & 0xFF) << 8);
        int info = (b[2] & 0xFF) | ((b[3] & 0xFF) << 8);
        if ((info & XLP_LONG_HEADER) == 0) {
            return null;
        }
        int tli = (int) Page.u32(b, 4);
        long addr = Page.u32(b, 8) | (Page.u32(b, 12) << 32);
        long sysid = Page.u32(b, 24) | (Page.u32(b, 28) << 32);
        int segSize = (int) Page.u32(b, 32);
        return new WalSegmentHeader(magic, tli, addr, sysid, segSize);
    }

    /**
     * Whether this header can start the file {@code fileName} (a segment, or a segment's
     * {@code .partial}): its first page's address must be that segment's start. An archived
     * object whose content is another segment (copied or renamed in the store) has a checksum of
     * its own that holds; PostgreSQL would take it for the end of the WAL.
     */
    public boolean startsSegment(String fileName) {
        if (segmentSize <= 0 || (segmentSize & (segmentSize - 1)) != 0) {
            return false;
        }
        return pageAddress == WalFileName.segmentNumber(fileName.substring(0, 24), segmentSize) * segmentSize;
    }

    /** Where the segment this header starts begins, as PostgreSQL writes an LSN. */
    public String pageAddressText() {
        return Long.toHexString(pageAddress >>> 32).toUpperCase() + "/" + Long.toHexString(pageAddress & 0xFFFFFFFFL).toUpperCase();
    }

    public String systemIdentifierText() {
        return Long.toUnsignedString(systemIdentifier);
    }
}
