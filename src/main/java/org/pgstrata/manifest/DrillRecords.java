package org.pgstrata.manifest;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.storage.Storage;

/**
 * The drill records of a repository: {@code drill/BACKUP_ID/STAMP-RESULT}, one sealed JSON
 * object ({@link DrillRecord}) per drill, written whole by one atomic put (a crash leaves the
 * record or nothing). The name carries the time and the result, so that the newest drill of each
 * backup, and the newest that passed, are known from one listing; only the records shown are read.
 * A record goes with its backup ({@code Repository.removeBackup}); one whose backup is gone is
 * ignored, and removed by the next expire.
 */
public final class DrillRecords {
    public static final String PREFIX = "drill/";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** One record as its name tells it: the backup, when the drill began, its result, and the key to read it at. */
    public record Entry(String backupId, Instant time, String result, String key) {
        public boolean passed() {
            return DrillRecord.PASSED.equals(result);
        }
    }

    private DrillRecords() {
    }

    /** The key a drill of {@code backupId} that began at {@code time} with {@code result} is kept at. */
    static String key(String backupId, Instant time, String result) {
        return PREFIX + backupId + "/" + STAMP.format(time) + "-" + result;
    }

    /** Writes {@code r} (one atomic put); returns its key. */
    public static String write(Storage storage, DrillRecord r) throws IOException {
        String key = key(r.backupId(), Instant.parse(r.startedAt()), r.result());
        storage.putBytes(key, Json.seal(r));
        return key;
    }

    /** Every record's entry, by backup, newest first; names that are not a record's are skipped. */
    public static Map<String, List<Entry>> list(Storage storage) throws IOException {
        Map<String, List<Entry>> byBackup = new TreeMap<>();
        for (String key : storage.list(PREFIX)) {
            parse(key).ifPresent(e -> byBackup.computeIfAbsent(e.backupId(), k -> new ArrayList<>()).add(e));
        }
        for (List<Entry> l : byBackup.values()) {
            l.sort(Comparator.comparing(Entry::time).reversed());
        }
        return byBackup;
    }

    static Optional<Entry> parse(String key) {
        if (!key.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] parts = key.substring(PREFIX.length()).split("/");
        if (parts.length != 2) {
            return Optional.empty();
        }
        int dash = parts[1].lastIndexOf('-');
        if (dash < 0) {
            return Optional.empty();
        }
        String result = parts[1].substring(dash + 1);
        if (!result.equals(DrillRecord.PASSED) && !result.equals(DrillRecord.FAILED)) {
            return Optional.empty();
        }
        try {
            Instant t = STAMP.parse(parts[1].substring(0, dash), Instant::from);
            return Optional.of(new Entry(parts[0], t, result, key));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** The record behind {@code e}; a damaged one is a {@link org.pgstrata.storage.CorruptObjectException}. */
    public static DrillRecord read(Storage storage, Entry e) throws IOException {
        return Json.unseal(e.key(), storage.getBytes(e.key()), DrillRecord.class);
    }

    /**
     * The newest drill of each backup in {@code backups}, read: what {@code list} shows as
     * lastDrill. A record that cannot be read is shown by its name alone (its time), as damaged,
     * with the reason as its finding.
     */
    public static Map<String, DrillRecord> latest(Storage storage, Set<String> backups) throws IOException {
        Map<String, DrillRecord> out = new LinkedHashMap<>();
        for (Map.Entry<String, List<Entry>> b : list(storage).entrySet()) {
            if (backups.contains(b.getKey())) {
                Entry newest = b.getValue().get(0);
                out.put(b.getKey(), readOrName(storage, newest));
            }
        }
        return out;
    }

    /** {@link #read}, or a record made from the name alone when the stored one cannot be read. */
    public static DrillRecord readOrName(Storage storage, Entry e) {
        try {
            return read(storage, e);
        } catch (IOException | RuntimeException ex) {
            // Not the result its name says: a record that cannot be read proves nothing (nor can its name be trusted alone).
            return new DrillRecord(DrillRecord.FORMAT_VERSION, e.backupId(), null, null, e.time().toString(), 0, DrillRecord.DAMAGED, List.of(),
                    List.of("the drill record " + e.key() + " (named " + e.result() + ") cannot be read: " + ex.getMessage()), null, null, 0, 0, 0, 0,
                    null);
        }
    }

    /** Removes the records of backup {@code backupId}. */
    public static void removeFor(Storage storage, String backupId) throws IOException {
        storage.deletePrefix(PREFIX + backupId + "/");
    }

    /** Removes the records of backups not in {@code backups}; returns how many backups' records went. */
    public static int removeOrphans(Storage storage, Set<String> backups) throws IOException {
        int n = 0;
        for (String id : list(storage).keySet()) {
            if (!backups.contains(id)) {
                removeFor(storage, id);
                n++;
            }
        }
        return n;
    }
}
