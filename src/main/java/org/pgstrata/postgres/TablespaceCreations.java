package org.pgstrata.postgres;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The CREATE TABLESPACE records that start in one WAL segment. Recovery replays such a record by
 * linking pg_tblspc/OID to the location the record names and creating its version directory
 * there, or taking the one it finds: whatever the restore did with the other tablespaces, and
 * even when that location is a running cluster's tablespace.
 *
 * <p>A record that starts near the segment's end runs on into the next segment. That segment is
 * asked for only when the cut record can be a tablespace creation (its header says so, or is cut
 * before it says which resource manager wrote it), so fetching one segment seldom costs two.
 */
public final class TablespaceCreations {
    private static final int RMID_OFFSET = 17;

    private TablespaceCreations() {
    }

    /** One creation: where its record starts, and the tablespace it makes. */
    public record Creation(Lsn lsn, long oid, String location) {
    }

    /**
     * The creations that recovery may replay: with a {@code bound} (recovery's target position),
     * those whose previous record starts at or after it are left out, since recovery stops at the
     * first record at or after its target. Without one, all.
     *
     * @param segment  the segment's content
     * @param segno    its number
     * @param segSize  the cluster's segment size
     * @param bound    where recovery stops, or null when it replays all it finds
     * @param next     the next segment of the same timeline, or null where there is none
     */
    public static List<Creation> inSegment(byte[] segment, long segno, long segSize, Lsn bound, Supplier<byte[]> next) {
        long start = segno * segSize;
        long end = start + segSize;
        List<Creation> found = new ArrayList<>();
        Lsn stop = read(segment, segno, segSize, bound, null, found);
        long at = stop.value();
        if (at >= start && at < end && mayBeCutCreation(segment, (int) (at - start))) {
            byte[] following = next.get();
            if (following != null) {
                found.clear();
                read(segment, segno, segSize, bound, following, found);
            }
        }
        return found;
    }

    private static Lsn read(byte[] segment, long segno, long segSize, Lsn bound, byte[] following, List<Creation> found) {
        WalReader reader = new WalReader(segSize, s -> s == segno ? segment : s == segno + 1 ? following : null);
        return reader.scanSegment(segno, WalReader.RM_TBLSPC, r -> {
            // Recovery stops at the first record at or after its bound: one whose previous record is there is not replayed
            boolean pastBound = bound != null && Long.compareUnsigned(r.prev().value(), bound.value()) >= 0;
            if (r.kind() == WalReader.Kind.TABLESPACE_CREATE && !pastBound) {
                found.add(new Creation(r.lsn(), r.tablespace().oid(), r.tablespace().location()));
            }
            return true;
        });
    }

    /**
     * Whether the record whose header starts at {@code off} (where reading stopped, the next
     * segment missing) can be a tablespace creation: a plausible length, and a resource manager
     * that is the tablespaces' or is cut off. xl_tot_len is always on the record's first page.
     */
    private static boolean mayBeCutCreation(byte[] segment, int off) {
        if (off + 4 > segment.length) {
            return false;
        }
        long totLen = Page.u32(segment, off);
        if (totLen < 24) {
            return false; // zeros: the WAL ends here
        }
        int pageEnd = (off / WalReader.PAGE + 1) * WalReader.PAGE;
        if (off + RMID_OFFSET >= Math.min(pageEnd, segment.length)) {
            return true;
        }
        return (segment[off + RMID_OFFSET] & 0xFF) == WalReader.RM_TBLSPC;
    }
}
