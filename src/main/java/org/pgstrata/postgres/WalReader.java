package org.pgstrata.postgres;

import java.time.Instant;
import java.util.function.LongFunction;
import java.util.zip.CRC32C;

/**
 * Reads WAL records out of consecutive segments of one timeline (access/xlogrecord.h,
 * xlog_internal.h). Pages are 8 KiB with a 24-byte header (40 bytes on a segment's first page);
 * records start 8-byte aligned, begin with a 24-byte XLogRecord header (total length, xid,
 * prev pointer, info, resource manager, CRC-32C) and may continue across pages and segments.
 * Reading stops at the first position that does not hold a valid record: the end of WAL.
 *
 * <p>Only what pgstrata needs is decoded: commit and abort timestamps, named restore points and
 * the tablespaces that CREATE TABLESPACE makes (commands/tablespace.h).
 */
public final class WalReader {
    public static final int PAGE = 8192;
    private static final int SHORT_HEADER = 24;
    private static final int LONG_HEADER = 40;
    private static final int RECORD_HEADER = 24;
    private static final int XLP_FIRST_IS_CONTRECORD = 0x0001;
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L; // 2000-01-01 in Unix microseconds

    public static final int RM_XLOG = 0;
    public static final int RM_XACT = 1;
    public static final int RM_TBLSPC = 5;
    private static final int XLOG_TBLSPC_CREATE = 0x00;
    private static final int XLOG_SWITCH = 0x40;
    private static final int XLOG_RESTORE_POINT = 0x70;

    /** One decoded record: where it starts and ends, and what pgstrata cares about in it. */
    public record Record(Lsn lsn, Lsn end, Lsn prev, int rmid, int info, long xid, Kind kind, Instant time, String restorePointName,
                         Tablespace tablespace, long[] subxacts) {
        /**
         * The end as PostgreSQL reports it (pg_create_restore_point, where recovery to the record
         * stops): the record's end rounded up to 8 bytes, as the server reserves its space.
         */
        public Lsn reportedEnd() {
            return new Lsn((end.value() + 7) & ~7L);
        }

    }

    public enum Kind { COMMIT, ABORT, RESTORE_POINT, SWITCH, TABLESPACE_CREATE, OTHER }

    /** The tablespace a CREATE TABLESPACE record makes: its OID and its location (empty for one inside pg_tblspc). */
    public record Tablespace(long oid, String location) {
    }

    /** Receives records; return false to stop reading. */
    public interface Visitor {
        boolean visit(Record r);
    }

    private final long segSize;
    private final LongFunction<byte[]> segments;
    private long cachedSegno = -1;
    private byte[] cached;

    /**
     * @param segments returns the content of segment {@code segno} of the timeline being read,
     *                 or null where the WAL ends
     */
    public WalReader(long segmentSize, LongFunction<byte[]> segments) {
        this.segSize = segmentSize;
        this.segments = segments;
    }

    /**
     * Reads from the first record that starts in segment {@code firstSegno} to the end of the
     * WAL. Returns the position after the last valid record.
     */
    public Lsn readFromSegment(long firstSegno, Visitor visitor) {
        return read(firstRecord(firstSegno), ALL, Long.MAX_VALUE, visitor);
    }

    /**
     * Visits the records of resource manager {@code rmid} that start in segment {@code segno},
     * decoded and checked (CRC). The others are skipped on the strength of their header and the
     * chain of previous-record pointers, unchecked: a scan for one rare kind of record, several
     * times faster than a check of every record. Returns where reading stopped: the first record
     * after the segment, or where the WAL ends or runs into a segment that is not there.
     */
    public Lsn scanSegment(long segno, int rmid, Visitor visitor) {
        return read(firstRecord(segno), rmid, (segno + 1) * segSize, visitor);
    }

    private static final int ALL = -1;

    /** Where the first record that starts in segment {@code segno} begins (after the rest of one from the segment before). */
    private long firstRecord(long segno) {
        byte[] first = segment(segno);
        long start = segno * segSize;
        if (first == null) {
            return start;
        }
        long pos = start + LONG_HEADER;
        if ((u16(first, 2) & XLP_FIRST_IS_CONTRECORD) != 0) {
            // The segment begins inside a record from the previous one: skip its remainder.
            pos = skipPageHeader(align(skipPayload(start + LONG_HEADER, u32(first, 16))));
        }
        return pos;
    }

    private Lsn read(long pos, int onlyRmid, long limit, Visitor visitor) {
        long prev = -1;
        while (true) {
            if (Long.compareUnsigned(pos, limit) >= 0) {
                return new Lsn(pos);
            }
            if (onlyRmid != ALL && prev >= 0) {
                long next = skipOne(pos, prev, onlyRmid);
                if (next >= 0) {
                    prev = pos;
                    pos = next;
                    continue;
                }
            }
            byte[] header = gather(pos, RECORD_HEADER);
            if (header == null) {
                return new Lsn(pos);
            }
            long totLen = u32(header, 0);
            long xlPrev = u32(header, 8) | (u32(header, 12) << 32);
            if (totLen < RECORD_HEADER || totLen > 1L << 30 || (prev >= 0 && xlPrev != prev)) {
                return new Lsn(pos);
            }
            int rmid = header[17] & 0xFF;
            byte[] rec = gather(pos, (int) totLen);
            if (rec == null || !crcOk(rec)) {
                return new Lsn(pos);
            }
            long end = endOf(pos, totLen);
            byte[] seg = segment(Long.divideUnsigned(pos, segSize));
            Record r = decode(rec, new Lsn(pos), new Lsn(end), seg == null || seg.length < 2 ? 0 : u16(seg, 0));
            if ((onlyRmid == ALL || rmid == onlyRmid) && !visitor.visit(r)) {
                return new Lsn(end);
            }
            prev = pos;
            if (r.kind() == Kind.SWITCH) {
                // The rest of the segment is unused; the next record starts in the next segment.
                long nextSeg = (Long.divideUnsigned(pos, segSize) + 1) * segSize;
                pos = nextSeg + LONG_HEADER;
                if (segment(Long.divideUnsigned(nextSeg, segSize)) == null) {
                    return new Lsn(nextSeg);
                }
                continue;
            }
            pos = skipPageHeader(align(end));
        }
    }

    /**
     * For a scan of one resource manager's records: where the record after the one at {@code pos}
     * starts, when that one is another's, whose header lies inside one page, follows {@code prev},
     * and ends in a segment that is there; -1 for any other, which the full path then reads or
     * stops at. One call per record, so that the JIT compiles it early in a short-lived process.
     */
    private long skipOne(long pos, long prev, int onlyRmid) {
        // Written for the interpreter as much as for the JIT: a scan runs in a process that lives for one segment
        long segno = pos / segSize; // an LSN below 2^63: plain division
        byte[] seg = segno == cachedSegno ? cached : segment(segno);
        int off = (int) (pos - segno * segSize);
        int inPage = off & (PAGE - 1);
        if (seg == null || inPage == 0 || inPage > PAGE - RECORD_HEADER || off > seg.length - RECORD_HEADER) {
            return -1;
        }
        int totLen = (seg[off] & 0xFF) | (seg[off + 1] & 0xFF) << 8 | (seg[off + 2] & 0xFF) << 16 | seg[off + 3] << 24;
        int rmid = seg[off + 17] & 0xFF;
        if (totLen < RECORD_HEADER || totLen > 1 << 30 || rmid == onlyRmid || (rmid == RM_XLOG && (seg[off + 16] & 0xF0) == XLOG_SWITCH)) {
            return -1;
        }
        long xlPrev = (seg[off + 8] & 0xFFL) | (seg[off + 9] & 0xFFL) << 8 | (seg[off + 10] & 0xFFL) << 16 | (seg[off + 11] & 0xFFL) << 24
                | (seg[off + 12] & 0xFFL) << 32 | (seg[off + 13] & 0xFFL) << 40 | (seg[off + 14] & 0xFFL) << 48 | (seg[off + 15] & 0xFFL) << 56;
        if (xlPrev != prev) {
            return -1;
        }
        long end;
        if (inPage + totLen <= PAGE) {
            end = pos + totLen;
        } else {
            end = endOf(pos, totLen);
            long endSeg = (end - 1) / segSize;
            if (endSeg != segno && segment(endSeg) == null) {
                return -1; // it runs into a segment that is not there: the full path stops here
            }
        }
        long next = (end + 7) & ~7L;
        return (next & (PAGE - 1)) == 0 ? skipPageHeader(next) : next;
    }

    private static long align(long p) {
        return (p + 7) & ~7L;
    }

    private long headerSize(long pagePos) {
        return Long.remainderUnsigned(pagePos, segSize) == 0 ? LONG_HEADER : SHORT_HEADER;
    }

    /** A position at a page boundary moves past the page header. */
    private long skipPageHeader(long pos) {
        if (Long.remainderUnsigned(pos, PAGE) == 0) {
            return pos + headerSize(pos);
        }
        return pos;
    }

    /** The position after {@code len} payload bytes starting at {@code pos}, skipping page headers. */
    private long skipPayload(long pos, long len) {
        while (len > 0) {
            long pageEnd = (pos / PAGE + 1) * PAGE;
            long n = Math.min(len, pageEnd - pos);
            pos += n;
            len -= n;
            if (len > 0) {
                pos = pageEnd + headerSize(pageEnd);
            }
        }
        return pos;
    }

    private long endOf(long pos, long len) {
        return skipPayload(pos, len);
    }

    /** Collects {@code len} record bytes from {@code pos}, across page headers; null at the end of WAL. */
    private byte[] gather(long pos, int len) {
        byte[] out = new byte[len];
        int got = 0;
        long p = pos;
        while (got < len) {
            long segno = Long.divideUnsigned(p, segSize);
            byte[] seg = segment(segno);
            if (seg == null) {
                return null;
            }
            int off = (int) Long.remainderUnsigned(p, segSize);
            if (off % PAGE == 0) {
                int h = off == 0 ? LONG_HEADER : SHORT_HEADER;
                if (!pageHeaderOk(seg, off, p, got > 0)) {
                    return null;
                }
                off += h;
                p += h;
            } else if (got == 0 && !pageHeaderOk(seg, off - off % PAGE, p - off % PAGE, false)) {
                return null;
            }
            int pageEnd = (off / PAGE + 1) * PAGE;
            int n = Math.min(len - got, pageEnd - off);
            if (off + n > seg.length) {
                return null;
            }
            System.arraycopy(seg, off, out, got, n);
            got += n;
            p += n;
        }
        return out;
    }

    private static boolean pageHeaderOk(byte[] seg, int pageOff, long pageLsn, boolean continuation) {
        if (pageOff + SHORT_HEADER > seg.length) {
            return false;
        }
        long addr = u32(seg, pageOff + 8) | (u32(seg, pageOff + 12) << 32);
        if (addr != pageLsn) {
            return false; // a recycled page from an older segment: the WAL ends here
        }
        if (continuation) {
            return (u16(seg, pageOff + 2) & XLP_FIRST_IS_CONTRECORD) != 0;
        }
        return true;
    }

    private byte[] segment(long segno) {
        if (segno != cachedSegno) {
            cached = segments.apply(segno);
            cachedSegno = segno;
        }
        return cached;
    }

    private static boolean crcOk(byte[] rec) {
        CRC32C crc = new CRC32C();
        crc.update(rec, RECORD_HEADER, rec.length - RECORD_HEADER);
        crc.update(rec, 0, 20);
        return (int) crc.getValue() == (int) u32(rec, 20);
    }

    /** @param pageMagic the segment's XLOG_PAGE_MAGIC, which tells the server version that wrote it */
    private static Record decode(byte[] rec, Lsn lsn, Lsn end, int pageMagic) {
        long xid = u32(rec, 4);
        int info = rec[16] & 0xFF;
        int rmid = rec[17] & 0xFF;
        Kind kind = Kind.OTHER;
        Instant time = null;
        String name = null;
        Tablespace tablespace = null;
        long[] subxacts = NO_XIDS;
        if (rmid == RM_XLOG && (info & 0xF0) == XLOG_SWITCH) {
            kind = Kind.SWITCH;
        } else if (rmid == RM_TBLSPC && (info & 0xF0) == XLOG_TBLSPC_CREATE) {
            // xl_tblspc_create_rec: the OID (4 bytes), then the location, NUL-terminated
            int mainStart = mainDataStart(rec);
            if (mainStart >= 0 && rec.length - mainStart >= 5) {
                int nul = mainStart + 4;
                while (nul < rec.length && rec[nul] != 0) {
                    nul++;
                }
                kind = Kind.TABLESPACE_CREATE;
                tablespace = new Tablespace(u32(rec, mainStart), new String(rec, mainStart + 4, nul - mainStart - 4,
                        java.nio.charset.StandardCharsets.UTF_8));
            }
        } else if (rmid == RM_XACT || (rmid == RM_XLOG && (info & 0xF0) == XLOG_RESTORE_POINT)) {
            int mainStart = mainDataStart(rec);
            if (mainStart >= 0 && rec.length - mainStart >= 8) {
                long micros = u32(rec, mainStart) | (u32(rec, mainStart + 4) << 32);
                time = toInstant(micros);
                if (rmid == RM_XLOG) {
                    kind = Kind.RESTORE_POINT;
                    int nameStart = mainStart + 8;
                    int nameEnd = nameStart;
                    while (nameEnd < rec.length && nameEnd < nameStart + 64 && rec[nameEnd] != 0) {
                        nameEnd++;
                    }
                    name = new String(rec, nameStart, nameEnd - nameStart, java.nio.charset.StandardCharsets.UTF_8);
                } else {
                    int op = info & 0x70;
                    if (op == 0x00 || op == 0x30) {
                        kind = Kind.COMMIT;
                    } else if (op == 0x20 || op == 0x40) {
                        kind = Kind.ABORT;
                    } else {
                        time = null;
                    }
                    if (kind != Kind.OTHER) {
                        subxacts = subxacts(rec, mainStart + 8, info);
                    }
                    if (op == 0x30 || op == 0x40) {
                        // COMMIT PREPARED and ROLLBACK PREPARED run in a session of their own: the header names that
                        // session's xid (none), the prepared transaction's is in the record, where recovery looks for it.
                        long prepared = preparedXid(rec, mainStart + 8, info, op == 0x30, pageMagic);
                        if (prepared >= 0) {
                            xid = prepared;
                        }
                    }
                }
            }
        }
        return new Record(lsn, end, new Lsn(u32(rec, 8) | (u32(rec, 12) << 32)), rmid, info, xid, kind, time, name, tablespace, subxacts);
    }

    private static final long[] NO_XIDS = new long[0];

    /**
     * The subtransactions a commit or abort record lists (after the time, xinfo, then the database
     * part if flagged, then the count and the xids): what ended with the transaction but is not
     * the xid recovery compares a target with.
     */
    private static long[] subxacts(byte[] rec, int off, int info) {
        if ((info & 0x80) == 0 || off + 4 > rec.length) {
            return NO_XIDS;
        }
        long xinfo = u32(rec, off);
        off += 4;
        if ((xinfo & 1) != 0) {
            off += 8;
        }
        if ((xinfo & 2) == 0 || off + 4 > rec.length) {
            return NO_XIDS;
        }
        long n = u32(rec, off);
        off += 4;
        if (n > (rec.length - off) / 4) {
            return NO_XIDS;
        }
        long[] xids = new long[(int) n];
        for (int i = 0; i < n; i++) {
            xids[i] = u32(rec, off + 4 * i);
        }
        return xids;
    }

    /**
     * The prepared transaction's xid in a COMMIT PREPARED or ROLLBACK PREPARED record
     * (access/xact.h, ParseCommitRecord and ParseAbortRecord): after the time, xinfo says which
     * parts follow, in this order; -1 when the record does not have it.
     */
    private static long preparedXid(byte[] rec, int off, int info, boolean commit, int pageMagic) {
        if ((info & 0x80) == 0 || off + 4 > rec.length) {
            return -1; // XLOG_XACT_HAS_INFO unset: no parts at all
        }
        long xinfo = u32(rec, off);
        off += 4;
        try {
            if ((xinfo & 1) != 0) {
                off += 8; // database and tablespace
            }
            if ((xinfo & 2) != 0) {
                off += 4 + 4 * (int) u32(rec, off); // subtransactions
            }
            if ((xinfo & 4) != 0) {
                off += 4 + 12 * (int) u32(rec, off); // relation files
            }
            if ((xinfo & 0x100) != 0) {
                // dropped statistics: 12 bytes each up to PostgreSQL 17, 16 from 18 (objid became 64 bits)
                off += 4 + (pageMagic > 0xD116 ? 16 : 12) * (int) u32(rec, off);
            }
            if (commit && (xinfo & 8) != 0) {
                off += 4 + 16 * (int) u32(rec, off); // invalidation messages
            }
            if ((xinfo & 0x10) == 0 || off < 0 || off + 4 > rec.length) {
                return -1;
            }
            return u32(rec, off);
        } catch (ArrayIndexOutOfBoundsException e) {
            return -1;
        }
    }

    /**
     * Where the main data starts, for records without block references (commit, abort, restore
     * point, tablespace creation); -1 for anything else.
     */
    private static int mainDataStart(byte[] rec) {
        int off = RECORD_HEADER;
        while (off < rec.length) {
            int id = rec[off] & 0xFF;
            switch (id) {
                case 255 -> {
                    int len = rec[off + 1] & 0xFF;
                    return rec.length - len;
                }
                case 254 -> {
                    long len = u32(rec, off + 1);
                    return (int) (rec.length - len);
                }
                case 253 -> off += 1 + 2; // replication origin
                case 252 -> off += 1 + 4; // top-level xid
                default -> {
                    return -1; // a block reference: not a record we decode
                }
            }
        }
        return -1;
    }

    public static Instant toInstant(long postgresMicros) {
        long unixMicros = postgresMicros + POSTGRES_EPOCH_MICROS;
        return Instant.ofEpochSecond(Math.floorDiv(unixMicros, 1_000_000L), Math.floorMod(unixMicros, 1_000_000L) * 1000L);
    }

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | ((b[off + 1] & 0xFF) << 8);
    }

    private static long u32(byte[] b, int off) {
        return Page.u32(b, off);
    }
}
