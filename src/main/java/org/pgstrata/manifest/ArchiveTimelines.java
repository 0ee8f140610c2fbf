package org.pgstrata.manifest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.postgres.WalReader;
import org.pgstrata.postgres.WalSegmentHeader;

/**
 * The WAL archive seen along timelines: which archived segment holds WAL position P on the way
 * to timeline T, where the archive ends, where it has gaps, and the records in it.
 */
public final class ArchiveTimelines {
    public static final long DEFAULT_SEGMENT_SIZE = 16L * 1024 * 1024;

    private final WalArchive archive;
    private final Map<String, WalArchive.Entry> byName = new HashMap<>();
    private final long segmentSize;
    private int latestTimeline = 1;
    /** Null: a damaged segment is an error for whoever reads it; otherwise the damaged segments read as absent so far. */
    private java.util.Set<String> damagedSkipped;

    public ArchiveTimelines(WalArchive archive) throws IOException {
        this.archive = archive;
        List<String> segments = new ArrayList<>();
        for (WalArchive.Entry e : archive.entries()) {
            byName.put(e.name(), e);
            if (WalFileName.isSegment(e.name())) {
                latestTimeline = Math.max(latestTimeline, WalFileName.timeline(e.name()));
                segments.add(e.name());
            } else if (WalFileName.isHistory(e.name())) {
                latestTimeline = Math.max(latestTimeline, Integer.parseInt(e.name().substring(0, 8), 16));
            }
        }
        long size = DEFAULT_SEGMENT_SIZE;
        // The newest segment that reads back intact says the size: a damaged one is for whoever reads it (verify names it),
        // not a reason to refuse the whole archive.
        for (int i = segments.size() - 1; i >= 0; i--) {
            byte[] content;
            try {
                content = archive.read(byName.get(segments.get(i)));
            } catch (org.pgstrata.storage.CorruptObjectException damaged) {
                continue;
            }
            WalSegmentHeader h = WalSegmentHeader.parse(content);
            if (h != null && h.segmentSize() > 0) {
                size = h.segmentSize();
            }
            break;
        }
        this.segmentSize = size;
    }

    public long segmentSize() {
        return segmentSize;
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }

    /** The newest timeline the archive knows (from segments and history files). */
    public int latestTimeline() {
        return latestTimeline;
    }

    /** Every timeline the archive has segments or history for, ascending. */
    public List<Integer> timelines() {
        java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
        for (String n : byName.keySet()) {
            if (WalFileName.isSegment(n)) {
                set.add(WalFileName.timeline(n));
            } else if (WalFileName.isHistory(n)) {
                set.add(Integer.parseInt(n.substring(0, 8), 16));
            }
        }
        return new ArrayList<>(set);
    }

    /** The way to timeline {@code tli}: its history file, or no ancestors for timeline 1. */
    public TimelineHistory path(int tli) throws IOException {
        String name = String.format("%08X.history", tli);
        WalArchive.Entry e = byName.get(name);
        if (e == null) {
            return new TimelineHistory(tli, List.of());
        }
        return TimelineHistory.parse(tli, new String(archive.read(e), StandardCharsets.UTF_8));
    }

    /** The segment that holds {@code segno}'s WAL on the way to {@code path}'s timeline, if archived. */
    public Optional<WalArchive.Entry> segment(TimelineHistory path, long segno) {
        // Newest timeline first: at a switch the new timeline's copy of the segment has both parts.
        List<int[]> ranges = ranges(path);
        for (int i = ranges.size() - 1; i >= 0; i--) {
            int tli = ranges.get(i)[0];
            long beginSeg = rangeBegin(path, i).segmentNumber(segmentSize);
            Lsn end = rangeEnd(path, i);
            long endSeg = end == null ? Long.MAX_VALUE : new Lsn(Math.max(0, end.value() - 1)).segmentNumber(segmentSize);
            if (segno < beginSeg || segno > endSeg) {
                continue;
            }
            WalArchive.Entry e = byName.get(WalFileName.segment(tli, segno, segmentSize));
            if (e != null) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** The timelines on the path, oldest first, as {timeline} entries. */
    private static List<int[]> ranges(TimelineHistory path) {
        List<int[]> r = new ArrayList<>();
        for (TimelineHistory.Entry e : path.ancestors()) {
            r.add(new int[] {e.timeline()});
        }
        r.add(new int[] {path.timeline()});
        return r;
    }

    private static Lsn rangeBegin(TimelineHistory path, int i) {
        return i == 0 ? Lsn.ZERO : path.ancestors().get(i - 1).switchPoint();
    }

    private static Lsn rangeEnd(TimelineHistory path, int i) {
        return i < path.ancestors().size() ? path.ancestors().get(i).switchPoint() : null;
    }

    /** The newest segment number archived on the path, or -1. */
    public long lastSegment(TimelineHistory path) {
        long last = -1;
        for (String n : byName.keySet()) {
            if (!WalFileName.isSegment(n)) {
                continue;
            }
            int tli = WalFileName.timeline(n);
            if (!path.descendsFrom(tli)) {
                continue;
            }
            long seg = WalFileName.segmentNumber(n, segmentSize);
            if (segment(path, seg).map(e -> e.name().equals(n)).orElse(false)) {
                last = Math.max(last, seg);
            }
        }
        return last;
    }

    /** Segment numbers in [from, to] that the archive lacks on the path. */
    public List<Long> gaps(TimelineHistory path, long from, long to) {
        List<Long> missing = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            if (segment(path, s).isEmpty()) {
                missing.add(s);
            }
        }
        return missing;
    }

    public String segmentName(TimelineHistory path, long segno) {
        return segment(path, segno).map(WalArchive.Entry::name)
                .orElse(WalFileName.segment(path.timelineAt(new Lsn(segno * segmentSize)), segno, segmentSize));
    }

    /**
     * Reads records from the first one that starts in segment {@code fromSegno} to the end of
     * the archived WAL on the path (or until the visitor stops); returns where reading stopped.
     */
    public Lsn scan(TimelineHistory path, long fromSegno, WalReader.Visitor visitor) throws IOException {
        try {
            return reader(path).readFromSegment(fromSegno, visitor);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Reads records on the path from the start of the first of {@code backups} (on the path,
     * oldest first) until the visitor stops or the archive ends; returns where reading stopped. A
     * read stops at a gap; a backup that starts after it replays the archive on from its own
     * start (as a restore of it does), so the read goes on from there.
     */
    public Lsn scanFrom(TimelineHistory path, List<Manifest> backups, WalReader.Visitor visitor) throws IOException {
        boolean[] stopped = {false};
        WalReader.Visitor v = r -> {
            stopped[0] = !visitor.visit(r);
            return !stopped[0];
        };
        Lsn reached = scan(path, Lsn.parse(backups.get(0).startLsn()).segmentNumber(segmentSize), v);
        for (Manifest m : backups) {
            long start = Lsn.parse(m.startLsn()).segmentNumber(segmentSize);
            if (!stopped[0] && m.walInArchive() && start > reached.segmentNumber(segmentSize)) {
                reached = scan(path, start, v);
            }
        }
        return reached;
    }

    /**
     * The time of the newest commit or abort in the archived WAL on the path, found by reading its
     * segments backwards from the last one, each alone (with the next when a record runs into it),
     * down to segment {@code fromSegno} at most; null when none holds one. Reads what it needs of
     * the newest WAL only: the segments between are neither read nor checked.
     */
    public java.time.Instant newestTransactionTime(TimelineHistory path, long fromSegno) throws IOException {
        try {
            WalReader reader = reader(path);
            for (long segno = lastSegment(path); segno >= fromSegno; segno--) {
                if (segment(path, segno).isEmpty()) {
                    continue; // a gap: the segments before it are still archived WAL
                }
                java.time.Instant[] newest = {null};
                reader.scanSegment(segno, WalReader.RM_XACT, r -> {
                    if ((r.kind() == WalReader.Kind.COMMIT || r.kind() == WalReader.Kind.ABORT) && r.time() != null) {
                        newest[0] = r.time();
                    }
                    return true;
                });
                if (newest[0] != null) {
                    return newest[0];
                }
            }
            return null;
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * From now on a damaged segment (its stored checksum does not match) reads as absent, as a
     * gap: the WAL read stops before it. For {@code info}, which shows what can be restored and
     * names the damage ({@link #takeDamagedSkipped}) rather than refusing; a restore stops there
     * too, with an error. Returns this.
     */
    public ArchiveTimelines skippingDamage() {
        damagedSkipped = new java.util.TreeSet<>();
        return this;
    }

    /** The damaged segments read as absent since {@link #skippingDamage} or the last call; forgets them. */
    public List<String> takeDamagedSkipped() {
        List<String> out = damagedSkipped == null ? List.of() : new ArrayList<>(damagedSkipped);
        if (damagedSkipped != null) {
            damagedSkipped.clear();
        }
        return out;
    }

    /** A reader of the archived WAL on the path: a segment the archive lacks there reads as absent. */
    private WalReader reader(TimelineHistory path) {
        return new WalReader(segmentSize, segno -> {
            Optional<WalArchive.Entry> e = segment(path, segno);
            if (e.isEmpty()) {
                return null;
            }
            try {
                return archive.read(e.get());
            } catch (org.pgstrata.storage.CorruptObjectException ex) {
                if (damagedSkipped == null) {
                    throw new UncheckedIOException(ex);
                }
                damagedSkipped.add(e.get().name());
                return null;
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        });
    }

    /** The end of the archived WAL on the path: the position after its last valid record. */
    public Lsn end(TimelineHistory path) throws IOException {
        long last = lastSegment(path);
        if (last < 0) {
            return Lsn.ZERO;
        }
        return scan(path, last, r -> true);
    }
}
