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
 * before it says which resource manager wrote it), so fetching one segment seldom costs two. When
 * the next segment was not there yet, the record is read again when that one is fetched, with the
 * previous segment's help: asked for only when the record's rest can end a creation's (short
 * enough, and ending in a location's last character and its NUL).
 */
public final class TablespaceCreations {
    private static final int RMID_OFFSET = 17;
    /** The most a creation record holds: header, main data header, OID and a location up to MAXPGPATH, with room to spare. */
    private static final long MAX_CREATION_LENGTH = 24 + 5 + 4 + 1024 + 64;

    private TablespaceCreations() {
    }

    /** One creation: where its record starts, and the tablespace it makes. */
    public record Creation(Lsn lsn, long oid, String location) {
    }

    /**
     * Where recovery stops: after the first record at or after {@code lsn} (a target by LSN,
     * transaction, restore point or consistency, inclusive), or before it ({@code exclusive}: an
     * LSN or transaction target with recovery_target_inclusive off).
     */
    public record Bound(Lsn lsn, boolean exclusive) {
        /** Whether recovery replays a record that starts at {@code record} after one that starts at {@code previous}. */
        boolean replays(Lsn record, Lsn previous) {
            return Long.compareUnsigned((exclusive ? record : previous).value(), lsn.value()) < 0;
        }
    }

    /**
     * The creations that recovery may replay: with a {@code bound}, those it stops before are left
     * out. Without one, all.
     *
     * @param segment  the segment's content
     * @param segno    its number
     * @param segSize  the cluster's segment size
     * @param bound    where recovery stops, or null when it replays all it finds
     * @param next     the next segment of the same timeline, or null where there is none
     */
    public static List<Creation> inSegment(byte[] segment, long segno, long segSize, Bound bound, Supplier<byte[]> next) {
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

    /**
     * The creation whose record starts in the previous segment and ends in this one, when this
     * segment begins inside a record short enough to be one. That record was read with the
     * previous segment only if this one was there then; a standby, or a recovery that fetched the
     * previous segment while this one was still being written, fetches this one later, and its own
     * scan starts after the record's rest. {@code previous} gives the previous segment (null where
     * there is none), asked for only then.
     */
    public static List<Creation> cutAtStart(byte[] segment, long segno, long segSize, Bound bound, Supplier<byte[]> previous) {
        if (segno == 0 || !mayEndCreation(segment)) {
            return List.of();
        }
        byte[] before = previous.get();
        if (before == null) {
            return List.of();
        }
        long start = (segno - 1) * segSize;
        long cutAt = read(before, segno - 1, segSize, bound, null, new ArrayList<>()).value();
        if (cutAt < start || cutAt >= start + segSize || !mayBeCutCreation(before, (int) (cutAt - start))) {
            return List.of();
        }
        List<Creation> found = new ArrayList<>();
        read(before, segno - 1, segSize, bound, segment, found);
        found.removeIf(c -> Long.compareUnsigned(c.lsn().value(), cutAt) < 0);
        return found;
    }

    /**
     * Whether the segment begins with the rest of a record that can be a creation's: at most
     * {@link #MAX_CREATION_LENGTH} bytes, and ending as one ends (a creation has no block data: its
     * last bytes are the location's, a character that is not NUL and then its NUL). The rest is
     * on the first page, after the 40-byte header.
     */
    private static boolean mayEndCreation(byte[] segment) {
        if (segment.length < 40 || (Page.u32(segment, 0) >>> 16 & 0x0001) == 0) {
            return false;
        }
        long rest = Page.u32(segment, 16);
        if (rest == 0 || rest > MAX_CREATION_LENGTH || 40 + rest > segment.length) {
            return rest != 0 && rest <= MAX_CREATION_LENGTH; // cannot tell: look
        }
        int last = (int) (40 + rest - 1);
        return segment[last] == 0 && (rest == 1 || segment[last - 1] != 0);
    }

    private static Lsn read(byte[] segment, long segno, long segSize, Bound bound, byte[] following, List<Creation> found) {
        WalReader reader = new WalReader(segSize, s -> s == segno ? segment : s == segno + 1 ? following : null);
        return reader.scanSegment(segno, WalReader.RM_TBLSPC, r -> {
            if (r.kind() == WalReader.Kind.TABLESPACE_CREATE && (bound == null || bound.replays(r.lsn(), r.prev()))) {
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
