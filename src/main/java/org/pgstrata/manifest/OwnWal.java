package org.pgstrata.manifest;

import java.io.IOException;
import java.util.Optional;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.postgres.WalSegmentHeader;
import org.pgstrata.storage.CorruptObjectException;

/**
 * A backup's own WAL, from its start to its consistency point, as the archive holds it: what a
 * restore of the backup needs before anything else (PostgreSQL asks for it only once the files
 * are in place), and what makes a full count toward retention. One or two segments for most
 * backups; each is read, and so checked.
 */
public final class OwnWal {
    private OwnWal() {
    }

    public enum Fault {
        /** Not in the archive. */
        MISSING("missing"),
        /** Not in the archive, and removed by expire: {@link Problem#detail} is the first LSN it keeps. */
        EXPIRED("removed by expire"),
        /** In the archive, damaged: {@link Problem#detail} says how. */
        DAMAGED("damaged");

        private final String label;

        Fault(String label) {
            this.label = label;
        }

        /** The fault in a word or two, as JSON output gives it. */
        public String label() {
            return label;
        }
    }

    /** What stands between the backup and its consistency point: {@code segment}'s fault. */
    public record Problem(Fault fault, String segment, String detail) {
        /** The fault as the rest of a sentence whose subject is the segment: "is not in the archive". */
        public String describe() {
            return switch (fault) {
                case MISSING -> "is not in the archive";
                case EXPIRED -> WalExpiry.MARKER + " (the archive keeps WAL from " + detail + " on)";
                case DAMAGED -> "is damaged: " + detail;
            };
        }
    }

    /**
     * The first segment of {@code m}'s own WAL that the archive lacks or holds damaged; empty when
     * every one reads back intact, or when {@code m} holds its WAL itself (checked with its other
     * objects).
     */
    public static Optional<Problem> check(WalArchive archive, Manifest m, long segmentSize) throws IOException {
        if (!m.walInArchive()) {
            return Optional.empty();
        }
        long from = Lsn.parse(m.startLsn()).segmentNumber(segmentSize);
        long to = new Lsn(Lsn.parse(m.stopLsn()).value() - 1).segmentNumber(segmentSize);
        for (long seg = from; seg <= to; seg++) {
            String name = WalFileName.segment(m.timeline(), seg, segmentSize);
            Optional<WalArchive.Entry> e = archive.find(name);
            if (e.isEmpty()) {
                Optional<WalExpiry.Mark> mark = WalExpiry.read(archive.storage());
                return Optional.of(mark.isPresent() && mark.get().covers(name) ? new Problem(Fault.EXPIRED, name, mark.get().before().toString())
                        : new Problem(Fault.MISSING, name, null));
            }
            byte[] content;
            try {
                content = archive.read(e.get());
            } catch (CorruptObjectException damaged) {
                return Optional.of(new Problem(Fault.DAMAGED, name, damaged.getMessage()));
            }
            // Another segment's content under this name (or another cluster's) keeps a valid checksum; wal get refuses it
            // once recovery asks for it, after every file is written.
            String wrong = wrongHeader(content, name, m.systemIdentifier());
            if (wrong != null) {
                return Optional.of(new Problem(Fault.DAMAGED, name, "object " + e.get().key() + " " + wrong));
            }
        }
        return Optional.empty();
    }

    /** What is wrong with a segment's long page header for the file {@code name} of the cluster {@code system}; null when nothing is. */
    private static String wrongHeader(byte[] content, String name, String system) {
        WalSegmentHeader h = WalSegmentHeader.parse(content);
        if (h == null) {
            return "does not start with a WAL segment header";
        }
        if (!h.systemIdentifierText().equals(system)) {
            return "belongs to the cluster with system identifier " + h.systemIdentifierText() + ", not " + system;
        }
        if (!h.startsSegment(name)) {
            return "holds the WAL that starts at " + h.pageAddressText() + ", not the start of " + name + " (another segment's content under this name)";
        }
        return null;
    }
}
