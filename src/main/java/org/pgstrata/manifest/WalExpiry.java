package org.pgstrata.manifest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;

/**
 * The mark {@code expire} leaves in the repository ({@value #KEY}) before it removes archived WAL:
 * every segment wholly before {@code before}, on every timeline, may be gone. It lets
 * {@code wal get} tell a segment that expire removed from one not archived yet: answered "not in
 * the archive", a removed one would end a recovery that still needs it (a restore of a backup that
 * expire removed while the restore ran, a copy or standby that fell behind), and PostgreSQL would
 * promote there, in the past. Written before the WAL goes, so an interrupted expire leaves a mark at
 * or ahead of what it removed; it only ever moves forward. Read without Jackson: {@code wal get}
 * loads none.
 */
public final class WalExpiry {
    public static final String KEY = "wal-expired.json";
    /** Words of wal get's refusal, which restore --start looks for in the server log. */
    public static final String MARKER = "was removed by expire";

    private static final Pattern BEFORE = Pattern.compile("\"before\"\\s*:\\s*\"([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})\"");
    private static final Pattern SEGMENT_SIZE = Pattern.compile("\"segmentSize\"\\s*:\\s*(\\d+)");
    private static final Pattern OLDEST_KEPT = Pattern.compile("\"oldestKept\"\\s*:\\s*\"([^\"\\\\]*)\"");

    private WalExpiry() {
    }

    /**
     * @param before      archived WAL wholly before this position may have been removed
     * @param oldestKept  the backup that starts there, the oldest that expire kept
     */
    public record Mark(Lsn before, long segmentSize, String oldestKept) {
        /** Whether archived segment (or .partial) {@code name}, of any timeline, lies wholly before the mark. */
        public boolean covers(String name) {
            if (name.length() < 24 || !WalFileName.isSegment(name.substring(0, 24))) {
                return false;
            }
            return WalFileName.segmentNumber(name.substring(0, 24), segmentSize) < before.segmentNumber(segmentSize);
        }
    }

    /** The mark, if expire ever removed WAL from this repository; a damaged one is corruption. */
    public static Optional<Mark> read(Storage storage) throws IOException {
        Optional<byte[]> bytes = storage.getBytesIfPresent(KEY);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        String body = new String(Envelope.open(KEY, bytes.get()), StandardCharsets.UTF_8);
        Matcher b = BEFORE.matcher(body);
        Matcher s = SEGMENT_SIZE.matcher(body);
        Matcher k = OLDEST_KEPT.matcher(body);
        if (!b.find() || !s.find()) {
            throw new CorruptObjectException(KEY, "does not say from where the archive keeps WAL");
        }
        return Optional.of(new Mark(Lsn.parse(b.group(1)), Long.parseLong(s.group(1)), k.find() ? k.group(1) : ""));
    }

    /**
     * Records that WAL before {@code before} is about to be removed; an existing mark further on
     * stays. A damaged one is replaced: the oldest kept backup's start only moves forward, as
     * removed backups never come back, so the new mark is at or past what it said. Durable on return.
     */
    public static void advance(Storage storage, Lsn before, long segmentSize, String oldestKept) throws IOException {
        Optional<Mark> old;
        try {
            old = read(storage);
        } catch (CorruptObjectException damaged) {
            old = Optional.empty();
        }
        if (old.isPresent() && !old.get().before().isBefore(before)) {
            return;
        }
        String body = "{\"before\":\"" + before + "\",\"segmentSize\":" + segmentSize + ",\"oldestKept\":\"" + oldestKept + "\"}";
        storage.putBytes(KEY, Envelope.seal(body.getBytes(StandardCharsets.UTF_8)));
    }
}
