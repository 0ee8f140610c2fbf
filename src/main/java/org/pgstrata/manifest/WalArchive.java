package org.pgstrata.manifest;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * The WAL archive inside a repository. Each archived file (segment, timeline history, .partial,
 * backup history) is one immutable object whose key carries the checksum (XXH64) of its content:
 * <pre>
 *   archive/TTTTTTTTLLLLLLLL/NAME-XXH64[.zst]      segments, .partial and .backup files
 *   archive/history/NAME-XXH64[.zst]               timeline history files
 * </pre>
 * A name is archived once: the same content again is accepted, other content is refused. Reads
 * decompress and check the content against the key's checksum before anything is used.
 */
public final class WalArchive {
    public static final String PREFIX = "archive/";

    private final Storage storage;

    public WalArchive(Storage storage) {
        this.storage = storage;
    }

    public Storage storage() {
        return storage;
    }

    /** An archived file. */
    public record Entry(String name, String key, String checksum, Compression compression) {
    }

    static String directoryOf(String name) {
        return name.length() >= 24 && !name.endsWith(".history") ? name.substring(0, 16) : "history";
    }

    /** The archived copy of {@code name}, if there is one. */
    public Optional<Entry> find(String name) throws IOException {
        String prefix = PREFIX + directoryOf(name) + "/" + name + "-";
        for (String key : storage.list(prefix)) {
            Entry e = parseKey(key);
            if (e != null && e.name().equals(name)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** Every archived file, ordered by name. */
    public List<Entry> entries() throws IOException {
        TreeMap<String, Entry> byName = new TreeMap<>();
        for (String key : storage.list(PREFIX)) {
            Entry e = parseKey(key);
            if (e != null) {
                byName.putIfAbsent(e.name(), e);
            }
        }
        return new ArrayList<>(byName.values());
    }

    public boolean isEmpty() throws IOException {
        return storage.list(PREFIX).isEmpty();
    }

    private static Entry parseKey(String key) {
        String file = key.substring(key.lastIndexOf('/') + 1);
        Compression c = Compression.NONE;
        for (Compression candidate : Compression.values()) {
            if (!candidate.suffix().isEmpty() && file.endsWith(candidate.suffix())) {
                c = candidate;
                file = file.substring(0, file.length() - candidate.suffix().length());
            }
        }
        int dash = file.lastIndexOf('-');
        if (dash <= 0 || file.length() - dash - 1 != 16) {
            return null;
        }
        return new Entry(file.substring(0, dash), key, file.substring(dash + 1), c);
    }

    /** The stored (compressed) size of an archived file. */
    public long storedBytes(Entry e) throws IOException {
        return storage.size(e.key());
    }

    /** Removes an archived file (retention); removing one already gone is not an error. Only under the lock. */
    public void remove(Entry e) throws IOException {
        storage.delete(e.key());
    }

    /** What {@link #put} did. */
    public enum PutOutcome { STORED, ALREADY_ARCHIVED }

    /**
     * Archives {@code content} under {@code name}: durable before it returns. The same content
     * under the same name again is {@link PutOutcome#ALREADY_ARCHIVED}; different content throws
     * {@link ConflictException} and leaves the first copy alone.
     */
    public PutOutcome put(String name, byte[] content, Compression compression) throws IOException {
        String sha = Checksum.ofLean(content);
        Optional<Entry> existing = find(name);
        if (existing.isPresent()) {
            if (existing.get().checksum().equals(sha)) {
                return PutOutcome.ALREADY_ARCHIVED;
            }
            throw new ConflictException(name, existing.get().checksum(), sha);
        }
        String key = PREFIX + directoryOf(name) + "/" + name + "-" + sha + compression.suffix();
        try (Storage.ObjectWriter w = storage.create(key)) {
            OutputStream out = w.stream();
            switch (compression) {
                case ZSTD -> out.write(Zstd.compress(content, ObjectStore.ZSTD_LEVEL));
                case LZ4 -> {
                    try (LZ4FrameOutputStream lz = new LZ4FrameOutputStream(nonClosing(out))) {
                        lz.write(content);
                    }
                }
                case NONE -> out.write(content);
            }
            w.commit();
        }
        return PutOutcome.STORED;
    }

    /**
     * {@link #put(String, byte[], Compression)} for content in a (mapped) direct buffer: the WAL
     * push path reads a 16 MiB segment without copying it, checksums it natively and compresses
     * it with zstd's own threads.
     */
    public PutOutcome put(String name, ByteBuffer content, int zstdWorkers) throws IOException {
        String sum = Checksum.of(content);
        Optional<Entry> existing = find(name);
        if (existing.isPresent()) {
            if (existing.get().checksum().equals(sum)) {
                return PutOutcome.ALREADY_ARCHIVED;
            }
            throw new ConflictException(name, existing.get().checksum(), sum);
        }
        String key = PREFIX + directoryOf(name) + "/" + name + "-" + sum + Compression.ZSTD.suffix();
        int length = content.remaining();
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
        try (Storage.ObjectWriter w = storage.create(key)) {
            java.nio.channels.WritableByteChannel ch = java.nio.channels.Channels.newChannel(w.stream());
            while (out.hasRemaining()) {
                ch.write(out);
            }
            w.commit();
        }
        return PutOutcome.STORED;
    }

    /** Reads an archived file, checked against its checksum. */
    public byte[] read(Entry e) throws IOException {
        byte[] stored;
        try {
            stored = storage.getBytes(e.key());
        } catch (ObjectNotFoundException ex) {
            throw new CorruptObjectException(e.key(), "is missing from " + storage.describe());
        }
        byte[] content;
        try {
            content = switch (e.compression()) {
                case ZSTD -> decompressZstd(stored);
                case LZ4 -> {
                    try (InputStream in = new LZ4FrameInputStream(new java.io.ByteArrayInputStream(stored))) {
                        yield in.readAllBytes();
                    }
                }
                case NONE -> stored;
            };
        } catch (IOException | RuntimeException ex) {
            throw new CorruptObjectException(e.key(), "cannot be decompressed (" + ex.getMessage() + ")");
        }
        String actual = Checksum.ofLean(content);
        if (!actual.equals(e.checksum())) {
            throw new CorruptObjectException(e.key(), "has content checksum " + actual + ", its name records " + e.checksum());
        }
        return content;
    }

    private static byte[] decompressZstd(byte[] stored) throws IOException {
        long size = Zstd.getFrameContentSize(stored);
        if (size > 0 && size < Integer.MAX_VALUE) {
            return Zstd.decompress(stored, (int) size);
        }
        try (InputStream in = new com.github.luben.zstd.ZstdInputStreamNoFinalizer(new java.io.ByteArrayInputStream(stored))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
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
}
