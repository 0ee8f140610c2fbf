package org.pgstrata.postgres;

import java.util.ArrayList;
import java.util.List;

/**
 * A timeline history file (NNNNNNNN.history): one line per ancestor timeline, "parent TLI, switch
 * LSN, reason", oldest first. Timeline N's WAL begins where its parent's line says it switched.
 */
public record TimelineHistory(int timeline, List<Entry> ancestors) {

    public record Entry(int timeline, Lsn switchPoint) {
    }

    public static TimelineHistory parse(int timeline, String text) {
        List<Entry> list = new ArrayList<>();
        for (String line : text.split("\n")) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] f = t.split("\\s+");
            if (f.length < 2) {
                continue;
            }
            list.add(new Entry(Integer.parseInt(f[0]), Lsn.parse(f[1])));
        }
        return new TimelineHistory(timeline, List.copyOf(list));
    }

    /** The timeline that WAL position {@code lsn} belongs to, on the way to this timeline. */
    public int timelineAt(Lsn lsn) {
        for (Entry e : ancestors) {
            if (lsn.isBefore(e.switchPoint())) {
                return e.timeline();
            }
        }
        return timeline;
    }

    /** Where this timeline began (its parent's switch point), or zero for timeline 1. */
    public Lsn begin() {
        return ancestors.isEmpty() ? Lsn.ZERO : ancestors.get(ancestors.size() - 1).switchPoint();
    }

    /** True if {@code other} is this timeline or one of its ancestors. */
    public boolean descendsFrom(int other) {
        return other == timeline || ancestors.stream().anyMatch(e -> e.timeline() == other);
    }
}
