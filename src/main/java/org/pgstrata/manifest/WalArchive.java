package org.pgstrata.manifest;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * The WAL archive inside a repository. Each archived file (segment, timeline history, .partial,
 * backup history) is one immutable object whose key is its name, whatever its compression:
 * <pre>
 *   archive/TTTTTTTTLLLLLLLL/NAME      segments, .partial and .backup files
 *   archive/history/NAME               timeline history files
 * </pre>
 * Archiving creates the key only if it is absent ({@link Storage.ObjectWriter#commitIfAbsent()}),
 * so a name holds one content however pushes race: the same content again is accepted, other
 * content is refused and the first copy kept.
 *
 * <p>An object is a 32-byte header, then the content: one zstd frame, one LZ4 frame, or the
 * bytes as they are ({@code --compress none}). The header is a skippable frame as both the zstd
 * and the LZ4 frame formats define it, so {@code zstd -d} and {@code lz4 -d} skip it and
 * decompress an object as it is; the content of an uncompressed one starts at byte 33
 * ({@code tail -c +33}). All numbers little-endian:
 * <pre>
 *   u32 0x184D2A5E   skippable frame magic (0x184D2A50..5F)      u32 24   frame size
 *   "PGSW"           a pgstrata WAL archive object                 u8 1     header version
 *   u8 compression   0 none, 1 zstd, 2 lz4                         u16 0    reserved
 *   u64              content length                                u64      XXH64 (seed 0) of the content
 * </pre>
 * Reads check the length and the checksum before anything is used.
 *
 * <p>Versions before this kept the checksum in the key and wrote no header:
 * {@code archive/DIR/NAME-XXH64[.zst|.lz4]}. Such objects are still read, and count as the
 * name's archived copy; they are never written again. Two objects for one name (a legacy one
 * beside a new one, or two legacy ones that racing pushes of those versions left) are all read,
 * and when their contents differ the name is refused: nobody can tell which copy recovery
 * should replay.
 */
public final class WalArchive {
    public static final String PREFIX = "archive/";

    /** The skippable frame magic the header uses. */
    static final int HEADER_MAGIC = 0x184D2A5E;
    static final int HEADER_LENGTH = 32;
    private static final byte[] TAG = "PGSW".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_VERSION = 1;

    private final Storage storage;

    public WalArchive(Storage storage) {
        this.storage = storage;
    }

    public Storage storage() {
        return storage;
    }

    /**
     * An archived file: its name and the keys of its objects, the one reads use first. More than
     * one key means duplicates, which only earlier versions could write.
     */
    public record Entry(String name, List<String> keys) {
        public Entry {
            keys = List.copyOf(keys);
        }

        /** The object reads use. */
        public String key() {
            return keys.get(0);
        }
    }

    static String directoryOf(String name) {
        return name.length() >= 24 && !name.endsWith(".history") ? name.substring(0, 16) : "history";
    }

    /** Where {@code name} is archived. */
    static String keyOf(String name) {
        return PREFIX + directoryOf(name) + "/" + name;
    }

    /** The archived copy of {@code name}, if there is one. */
    public Optional<Entry> find(String name) throws IOException {
        // One listing finds the key and any legacy ones (NAME-XXH64...) beside it.
        List<Entry> found = group(storage.list(keyOf(name)));
        return found.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** Every archived file, ordered by name. */
    public List<Entry> entries() throws IOException {
        return group(storage.list(PREFIX));
    }

    private static List<Entry> group(List<String> keys) {
        TreeMap<String, List<String>> byName = new TreeMap<>();
        for (String key : keys) {
            Key k = Key.parse(key);
            if (k != null) {
                List<String> list = byName.computeIfAbsent(k.name(), n -> new ArrayList<>());
                if (k.legacyChecksum() == null) {
                    list.add(0, key); // the current layout's object first
                } else {
                    list.add(key);
                }
            }
        }
        List<Entry> result = new ArrayList<>();
        byName.forEach((name, list) -> result.add(new Entry(name, list)));
        return result;
    }

    /** Every archived timeline history file, ordered by name: one listing of their own directory. */
    public List<Entry> histories() throws IOException {
        org.pgstrata.api.Parallel.Ahead<List<Entry>> ahead = historiesAhead;
        if (ahead != null) {
            historiesAhead = null; // that listing once: a later call lists again
            return ahead.get();
        }
        return group(storage.list(HISTORIES));
    }

    private static final String HISTORIES = PREFIX + directoryOf("00000002.history") + "/";

    /** A listing of the history files started by {@link #listHistoriesAhead}, not yet taken. */
    private volatile org.pgstrata.api.Parallel.Ahead<List<Entry>> historiesAhead;

    /**
     * Starts listing the timeline history files now, beside what the caller reads next (the
     * catalogue), for the first {@link #histories()} to take: on S3 a round trip less before a
     * restore's first byte.
     */
    public WalArchive listHistoriesAhead() {
        historiesAhead = org.pgstrata.api.Parallel.ahead("pgstrata-histories", () -> group(storage.list(HISTORIES)));
        return this;
    }

    public boolean isEmpty() throws IOException {
        return storage.list(PREFIX).isEmpty();
    }

    /** What a key says: the archived name and, for the legacy layout, the checksum and compression it records. */
    private record Key(String name, String legacyChecksum, Compression legacyCompression) {
        static Key parse(String key) {
            String file = key.substring(key.lastIndexOf('/') + 1);
            String stem = file;
            Compression c = Compression.NONE;
            for (Compression candidate : Compression.values()) {
                if (!candidate.suffix().isEmpty() && stem.endsWith(candidate.suffix())) {
                    c = candidate;
                    stem = stem.substring(0, stem.length() - candidate.suffix().length());
                }
            }
            int dash = stem.lastIndexOf('-');
            if (dash > 0 && stem.length() - dash - 1 == 16 && stem.substring(dash + 1).chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
                return new Key(stem.substring(0, dash), stem.substring(dash + 1), c);
            }
            // WAL file names hold no '-'; anything else under archive/ is not an archived file.
            return file.isEmpty() || file.indexOf('-') >= 0 ? null : new Key(file, null, null);
        }
    }

    /** The stored (compressed) size of an archived file, duplicates included. */
    public long storedBytes(Entry e) throws IOException {
        long sum = 0;
        for (String key : e.keys()) {
            sum += storage.size(key);
        }
        return sum;
    }

    /**
     * Removes an archived file, every copy of it (retention); removing one already gone is not an
     * error. Only under the lock, through {@link Repository#removeArchived}, which checks it first.
     */
    void remove(Entry e) throws IOException {
        for (String key : e.keys()) {
            storage.delete(key);
        }
    }

    /**
     * What {@link #put} did. {@code STORED_AGAIN}: the archived copy was damaged, and the content
     * offered is its original (the checksum and size the damaged copy's header records): it took
     * the damaged copy's place.
     */
    public enum PutOutcome { STORED, ALREADY_ARCHIVED, STORED_AGAIN }

    /**
     * The warning for {@link PutOutcome#STORED_AGAIN}, in the words of every command that archives
     * ({@code offered}: what the command offered, such as "this file"); empty for other outcomes.
     */
    public Optional<String> storedAgainWarning(PutOutcome outcome, String name, String offered) {
        if (outcome != PutOutcome.STORED_AGAIN) {
            return Optional.empty();
        }
        return Optional.of("the archived copy of " + name + " in " + storage.describe() + " was damaged; " + offered
                + " is its original (the checksum and size its header records) and is stored again in its place");
    }

    /**
     * Archives {@code content} under {@code name}: durable before it returns. The same content
     * under the same name again is {@link PutOutcome#ALREADY_ARCHIVED}; different content throws
     * {@link ConflictException} and leaves the first copy alone. A copy that an earlier version
     * archived counts.
     */
    public PutOutcome put(String name, byte[] content, Compression compression) throws IOException {
        return put(name, content, compression, null);
    }

    /**
     * Asked, once an object is written and before it becomes visible, whether it may: a batch of
     * pushes makes its files visible in its own order, and none after one that failed.
     */
    public interface Turn {
        /** Waits for the files before this one; false when one of them did not reach the archive. */
        boolean mayCommit() throws IOException;
    }

    /** {@link #put(String, byte[], Compression)}, made visible only when {@code turn} (if any) allows. */
    public PutOutcome put(String name, byte[] content, Compression compression, Turn turn) throws IOException {
        String sum = Checksum.ofLean(content);
        PutOutcome known = againstArchived(name, sum, content.length);
        if (known == PutOutcome.ALREADY_ARCHIVED) {
            return known;
        }
        try (Storage.ObjectWriter w = storage.create(keyOf(name))) {
            OutputStream out = w.stream();
            out.write(header(compression, content.length, sum));
            switch (compression) {
                case ZSTD -> out.write(Zstd.compress(content, ObjectStore.ZSTD_LEVEL));
                case LZ4 -> {
                    try (LZ4FrameOutputStream lz = new LZ4FrameOutputStream(nonClosing(out))) {
                        lz.write(content);
                    }
                }
                case NONE -> out.write(content);
            }
            return commit(w, name, sum, turn, known == PutOutcome.STORED_AGAIN);
        }
    }

    /**
     * {@link #put(String, byte[], Compression)} (zstd) for content in a (mapped) direct buffer: the
     * WAL push path reads a 16 MiB segment without copying it, checksums it natively and
     * compresses it with zstd's own threads.
     */
    public PutOutcome put(String name, ByteBuffer content, int zstdWorkers, Turn turn) throws IOException {
        String sum = Checksum.of(content);
        int length = content.remaining();
        PutOutcome known = againstArchived(name, sum, length);
        if (known == PutOutcome.ALREADY_ARCHIVED) {
            return known;
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) Zstd.compressBound(length));
        int written;
        try (com.github.luben.zstd.ZstdCompressCtx ctx = new com.github.luben.zstd.ZstdCompressCtx()) {
            ctx.setLevel(ObjectStore.ZSTD_LEVEL);
            if (zstdWorkers > 1) {
                ctx.setWorkers(zstdWorkers);
            }
            written = ctx.compressDirectByteBuffer(out, 0, out.capacity(), content, content.position(), length);
        }
        out.limit(written);
        try (Storage.ObjectWriter w = storage.create(keyOf(name))) {
            w.stream().write(header(Compression.ZSTD, length, sum));
            java.nio.channels.WritableByteChannel ch = java.nio.channels.Channels.newChannel(w.stream());
            while (out.hasRemaining()) {
                ch.write(out);
            }
            return commit(w, name, sum, turn, known == PutOutcome.STORED_AGAIN);
        }
    }

    /**
     * Before writing: a copy of {@code name} that is already archived (an earlier version's
     * object, which the create-if-absent below would not see) decides. Reading it checks it.
     * Null when there is none; {@link PutOutcome#STORED_AGAIN} when it is damaged and the content
     * offered ({@code sum}, {@code length} bytes) is proven its original ({@link #damagedOriginalOf}).
     */
    private PutOutcome againstArchived(String name, String sum, long length) throws IOException {
        Optional<Entry> existing = find(name);
        if (existing.isEmpty()) {
            return null;
        }
        try {
            return compare(existing.get(), sum);
        } catch (DuplicateException e) {
            throw e;
        } catch (CorruptObjectException e) {
            if (damagedOriginalOf(existing.get(), sum, length)) {
                return PutOutcome.STORED_AGAIN;
            }
            throw e;
        }
    }

    /**
     * Whether damaged archived copy {@code e} (one object, in this version's form) is a copy of
     * the content whose checksum is {@code sum} and size {@code length}: its header is whole and
     * records both. The content is then the same that was archived, and storing it again loses
     * nothing; without this, PostgreSQL's retries of the push failed for ever. A header that is
     * itself damaged, or an encrypted object (whose damage hides it), proves nothing: refused.
     */
    private boolean damagedOriginalOf(Entry e, String sum, long length) throws IOException {
        if (e.keys().size() != 1 || !e.key().equals(keyOf(e.name()))) {
            return false;
        }
        byte[] stored;
        try {
            stored = storage.getBytes(e.key());
        } catch (CorruptObjectException | ObjectNotFoundException ex) {
            return false;
        }
        ByteBuffer h = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
        return stored.length >= HEADER_LENGTH && h.getInt(0) == HEADER_MAGIC && h.getInt(4) == HEADER_LENGTH - 8
                && java.util.Arrays.equals(stored, 8, 12, TAG, 0, 4) && stored[12] == HEADER_VERSION
                && h.getLong(16) == length && String.format("%016x", h.getLong(24)).equals(sum);
    }

    /**
     * Creates the object if the name is free; otherwise the archived copy (whole, since it won)
     * decides. {@code again}: the name holds a damaged copy of this content, which this one replaces.
     */
    private PutOutcome commit(Storage.ObjectWriter w, String name, String sum, Turn turn, boolean again) throws IOException {
        if (turn != null && !turn.mayCommit()) {
            throw new HeldBackException(name); // the writer's close discards what was written
        }
        if (again) {
            w.commit();
            return PutOutcome.STORED_AGAIN;
        }
        if (w.commitIfAbsent()) {
            return PutOutcome.STORED;
        }
        Entry winner = find(name).orElseThrow(() -> new IOException(keyOf(name) + " was there a moment ago and is gone: retry the push"));
        return compare(winner, sum);
    }

    private PutOutcome compare(Entry archived, String sum) throws IOException {
        String archivedSum = readChecked(archived).checksum();
        if (archivedSum.equals(sum)) {
            return PutOutcome.ALREADY_ARCHIVED;
        }
        throw new ConflictException(archived.name(), archivedSum, sum);
    }

    private static byte[] header(Compression compression, long length, String checksum) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(HEADER_MAGIC).putInt(HEADER_LENGTH - 8).put(TAG).put((byte) HEADER_VERSION).put((byte) code(compression)).putShort((short) 0)
                .putLong(length).putLong(Long.parseUnsignedLong(checksum, 16));
        return b.array();
    }

    private static int code(Compression c) {
        return switch (c) {
            case NONE -> 0;
            case ZSTD -> 1;
            case LZ4 -> 2;
        };
    }

    /** Content read back and checked, with its checksum. */
    private record Checked(byte[] content, String checksum) {
    }

    /** Reads an archived file, checked against its checksum (every copy, when there are several). */
    public byte[] read(Entry e) throws IOException {
        return readChecked(e).content();
    }

    /** The checksum of an archived file's content, read and checked. */
    public String checksumOf(Entry e) throws IOException {
        return readChecked(e).checksum();
    }

    private Checked readChecked(Entry e) throws IOException {
        List<Checked> copies = new ArrayList<>();
        for (String key : e.keys()) {
            copies.add(readObject(key));
        }
        if (copies.stream().map(Checked::checksum).distinct().count() > 1) {
            List<String> described = new ArrayList<>();
            for (int i = 0; i < copies.size(); i++) {
                described.add(e.keys().get(i) + " (content xxh64 " + copies.get(i).checksum() + ")");
            }
            throw new DuplicateException(e, e.name() + " has " + copies.size() + " archived copies whose contents differ: "
                    + String.join(", ", described));
        }
        return copies.get(0);
    }

    private Checked readObject(String key) throws IOException {
        byte[] stored;
        try {
            stored = storage.getBytes(key);
        } catch (ObjectNotFoundException ex) {
            throw new CorruptObjectException(key, "is missing from " + storage.describe());
        }
        Key k = Key.parse(key);
        String expected;
        Compression compression;
        long length = -1;
        int from = 0;
        if (k != null && k.legacyChecksum() != null) {
            expected = k.legacyChecksum();
            compression = k.legacyCompression();
        } else {
            ByteBuffer h = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
            if (stored.length < HEADER_LENGTH || h.getInt(0) != HEADER_MAGIC || h.getInt(4) != HEADER_LENGTH - 8
                    || !java.util.Arrays.equals(stored, 8, 12, TAG, 0, 4)) {
                throw new CorruptObjectException(key, "does not start with pgstrata's WAL archive header");
            }
            if (stored[12] != HEADER_VERSION) {
                throw new CorruptObjectException(key, "has header version " + stored[12] + ", which this pgstrata does not know; use a newer one");
            }
            compression = switch (stored[13]) {
                case 0 -> Compression.NONE;
                case 1 -> Compression.ZSTD;
                case 2 -> Compression.LZ4;
                default -> throw new CorruptObjectException(key, "names an unknown compression (" + stored[13] + ") in its header");
            };
            length = h.getLong(16);
            expected = String.format("%016x", h.getLong(24));
            from = HEADER_LENGTH;
        }
        byte[] content;
        try {
            content = decompress(compression, stored, from, length);
        } catch (IOException | RuntimeException ex) {
            throw new CorruptObjectException(key, "cannot be decompressed (" + ex.getMessage() + ")");
        }
        if (length >= 0 && content.length != length) {
            throw new CorruptObjectException(key, "holds " + content.length + " bytes, its header records " + length);
        }
        String actual = Checksum.ofLean(content);
        if (!actual.equals(expected)) {
            throw new CorruptObjectException(key, "has content checksum " + actual + ", " + (from == 0 ? "its name" : "its header")
                    + " records " + expected);
        }
        return new Checked(content, actual);
    }

    private static byte[] decompress(Compression compression, byte[] stored, int from, long length) throws IOException {
        return switch (compression) {
            case NONE -> java.util.Arrays.copyOfRange(stored, from, stored.length);
            case LZ4 -> {
                try (InputStream in = new LZ4FrameInputStream(new ByteArrayInputStream(stored, from, stored.length - from))) {
                    yield in.readAllBytes();
                }
            }
            case ZSTD -> {
                byte[] frame = from == 0 ? stored : java.util.Arrays.copyOfRange(stored, from, stored.length);
                long size = length >= 0 ? length : Zstd.getFrameContentSize(frame);
                if (size > 0 && size < Integer.MAX_VALUE) {
                    yield Zstd.decompress(frame, (int) size);
                }
                try (InputStream in = new com.github.luben.zstd.ZstdInputStreamNoFinalizer(new ByteArrayInputStream(frame))) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    in.transferTo(out);
                    yield out.toByteArray();
                }
            }
        };
    }

    private static OutputStream nonClosing(OutputStream out) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }

    /** Different content was pushed under a name the archive already holds. */
    public static final class ConflictException extends IOException {
        public ConflictException(String name, String archived, String offered) {
            super("the archive already holds " + name + " with different content (archived " + archived
                    + ", offered " + offered + "); the archived copy was kept");
        }
    }

    /** Not archived: a file before it in the same batch did not reach the archive (see {@link Turn}). */
    public static final class HeldBackException extends IOException {
        public HeldBackException(String name) {
            super(name + " was not archived: a file before it in the same push was not archived either");
        }
    }

    /** A name with several archived objects whose contents differ: nobody can tell which is right. */
    public static final class DuplicateException extends CorruptObjectException {
        private final Entry entry;

        DuplicateException(Entry entry, String message) {
            super(entry.key(), message, true);
            this.entry = entry;
        }

        public Entry entry() {
            return entry;
        }
    }
}
