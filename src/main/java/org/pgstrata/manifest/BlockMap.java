package org.pgstrata.manifest;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.pgstrata.api.Compression;
import org.pgstrata.postgres.Page;
import org.pgstrata.storage.CorruptObjectException;

/**
 * What every 8 KiB block of every file held when a backup read it: the XXH64 of each block (the
 * last one may be short), in one object beside the manifest, which records where it is.
 *
 * <p>The next incremental or differential compares each block it reads with the block map of
 * the backup it builds on and stores the blocks that differ. Unlike page LSNs, this cannot be
 * fooled by bytes that change without WAL (pg_checksums --enable, SP-GiST's metapage cache, a
 * copy restored from an older backup that kept writing): a block recorded as unchanged is,
 * byte for byte, the block a restore rebuilds from the reference (up to a 64-bit hash
 * collision). Every block is read anyway, so it costs one hash per block and 8 bytes per 8 KiB
 * of data (0.1%).
 *
 * <p>The object holds the hashes as 64-bit big-endian numbers and nothing else: for each file of
 * the manifest, in the manifest's (path) order, ceil(size / 8192) of them. Its length is
 * therefore known from the manifest, and checked when it is read.
 *
 * <p>A map is held on the heap up to {@link #heapBytes()} of hashes (by default a sixteenth of the
 * heap, at most 64 MiB: 64 GiB of data); beyond, in a temporary file (see {@link Spill}), so that the heap does not grow with the
 * database: 1 TiB of data has 1 GiB of hashes, and an incremental holds two maps, verify one per
 * backup. Each file's hashes are then read back when that file is compared.
 */
public final class BlockMap implements AutoCloseable {
    /** What {@link Manifest#blockMap()}'s hashes are: XXH64 of each 8 KiB block. */
    public static final String KEY_NAME = "blockmap";

    private final Hashes hashes;

    private BlockMap(Hashes hashes) {
        this.hashes = hashes;
    }

    /**
     * The most hash bytes a map keeps on the heap: a sixteenth of the largest heap, at most 64 MiB
     * (system property {@code pgstrata.blockmap.heapBytes}; 0 spills every map, which the tests
     * use to run the file path end to end).
     */
    public static long heapBytes() {
        return Long.getLong("pgstrata.blockmap.heapBytes", Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16));
    }

    /** Whether this map's hashes are in a temporary file rather than on the heap. */
    public boolean spilled() {
        return hashes.spilled();
    }

    @Override
    public void close() throws IOException {
        hashes.close();
    }

    /** The hash of a block: XXH64 of its bytes (fewer than 8 KiB for a file's short last block). */
    public static long hash(byte[] b, int off, int len) {
        return Checksum.hash64(b, off, len);
    }

    /** The number of blocks a file of {@code size} bytes has, its short last one included. */
    public static long blocks(long size) {
        return (size + Page.SIZE - 1) / Page.SIZE;
    }

    /**
     * The hashes of {@code path}'s blocks as the backup read them, or null when the file is not in
     * it. A spilled map reads them from its file: call it once per file compared.
     */
    public long[] of(String path) throws IOException {
        return hashes.get(path);
    }

    public static String key(String backupId) {
        return Repository.BACKUP_PREFIX + backupId + "/" + KEY_NAME;
    }

    /**
     * Reads and checks the block map of {@code m}: the stored checksum, and a length that fits
     * the manifest's files exactly. Null when {@code m} has none (format 1).
     */
    public static BlockMap read(ObjectStore objects, Manifest m) throws IOException {
        return m.blockMap() == null ? null : read(objects, m.blockMap(), m.id(), m.files(), heapBytes());
    }

    /** Reads the block map {@code ref} of backup {@code id} whose files are {@code files}, spilled beyond {@code heapBytes}. */
    static BlockMap read(ObjectStore objects, ObjectRef ref, String id, List<FileEntry> files, long heapBytes) throws IOException {
        Hashes hashes = new Hashes(heapBytes);
        try (InputStream raw = objects.open(ref); DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw, 1 << 16))) {
            for (FileEntry f : files) {
                long[] h = new long[(int) blocks(f.size())];
                for (int i = 0; i < h.length; i++) {
                    try {
                        h[i] = in.readLong();
                    } catch (java.io.EOFException e) {
                        throw new CorruptObjectException(ref.key(), "ends before the hashes of " + f.path()
                                + ": it does not fit the manifest of " + id);
                    }
                }
                hashes.put(f.path(), h);
            }
            if (in.read() >= 0) {
                throw new CorruptObjectException(ref.key(), "is longer than the manifest of " + id + " needs");
            }
        } catch (IOException | RuntimeException e) {
            hashes.close();
            throw e;
        }
        return new BlockMap(hashes);
    }

    /**
     * Collects the hashes of the blocks a backup reads, from any number of threads: on the heap
     * until they pass {@link #heapBytes()}, then in a temporary file.
     */
    public static final class Builder implements AutoCloseable {
        private final Hashes hashes;

        public Builder() {
            this(heapBytes());
        }

        Builder(long heapBytes) {
            this.hashes = new Hashes(heapBytes);
        }

        /** Records the hashes of {@code path}'s blocks (one per block of the size the manifest records for it). */
        public void put(String path, long[] blockHashes) throws IOException {
            hashes.put(path, blockHashes);
        }

        /** Whether the hashes went to a temporary file. */
        public boolean spilled() {
            return hashes.spilled();
        }

        @Override
        public void close() throws IOException {
            hashes.close();
        }

        /**
         * Writes the map for {@code files} (the manifest's, in its order) and returns where it is.
         * Every file must have been recorded with one hash per block of its recorded size.
         */
        public ObjectRef write(ObjectStore objects, String backupId, List<FileEntry> files) throws IOException {
            try (ObjectStore.PendingObject out = objects.create(backupId, key(backupId), Compression.NONE)) {
                ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                for (FileEntry f : files) {
                    long[] h = hashes.get(f.path());
                    if (h == null || h.length != blocks(f.size())) {
                        throw new IllegalStateException("no block hashes for " + f.path() + " (" + f.size() + " bytes)"
                                + (h == null ? "" : ", " + h.length + " recorded"));
                    }
                    for (long v : h) {
                        if (!buf.hasRemaining()) {
                            out.content().write(buf.array(), 0, buf.position());
                            buf.clear();
                        }
                        buf.putLong(v);
                    }
                }
                out.content().write(buf.array(), 0, buf.position());
                return out.finish().ref();
            }
        }
    }

    /** The hashes of every block of {@code data} (a whole file's content). */
    public static long[] hashAll(byte[] data, int length) {
        long[] h = new long[(int) blocks(length)];
        for (int i = 0; i < h.length; i++) {
            int off = i * Page.SIZE;
            h[i] = hash(data, off, Math.min(Page.SIZE, length - off));
        }
        return h;
    }

    /** Grows a file's hash array as its blocks are read in order. */
    public static final class Collector {
        private long[] h = new long[16];
        private int n;

        /**
         * Hashes the blocks of {@code data[0, length)}, which continue the file where the last
         * call stopped; returns their hashes.
         */
        public long[] add(byte[] data, int length) {
            long[] chunk = hashAll(data, length);
            while (n + chunk.length > h.length) {
                h = java.util.Arrays.copyOf(h, h.length * 2);
            }
            System.arraycopy(chunk, 0, h, n, chunk.length);
            n += chunk.length;
            return chunk;
        }

        public long[] hashes() {
            return java.util.Arrays.copyOf(h, n);
        }
    }

    /**
     * Each file's hashes, put from any number of threads: on the heap until they pass
     * {@code heapBytes}, then (all of them) in a {@link Spill}.
     */
    private static final class Hashes implements AutoCloseable {
        private final Map<String, long[]> byPath = new ConcurrentHashMap<>();
        /** Once spilled: where each file's hashes start in the spill (in hashes), and how many there are. */
        private final Map<String, long[]> slots = new ConcurrentHashMap<>();
        private final long heapBytes;
        private long held;
        private volatile Spill spill;

        Hashes(long heapBytes) {
            this.heapBytes = heapBytes;
        }

        void put(String path, long[] hashes) throws IOException {
            Spill s;
            synchronized (this) {
                held += hashes.length * 8L;
                if (spill == null && held > heapBytes) {
                    Spill created = Spill.create();
                    try {
                        for (Map.Entry<String, long[]> e : byPath.entrySet()) {
                            slots.put(e.getKey(), new long[] {created.append(e.getValue()), e.getValue().length});
                        }
                    } catch (RuntimeException e) {
                        created.close();
                        throw e;
                    }
                    spill = created; // before the heap copies go: a reader meanwhile finds them in the spill
                    byPath.clear();
                }
                if (spill == null) {
                    byPath.put(path, hashes);
                    return;
                }
                s = spill;
            }
            slots.put(path, new long[] {s.append(hashes), hashes.length});
        }

        long[] get(String path) throws IOException {
            Spill s = spill;
            if (s == null) {
                return byPath.get(path);
            }
            long[] slot = slots.get(path);
            return slot == null ? null : s.read(slot[0], (int) slot[1]);
        }

        boolean spilled() {
            return spill != null;
        }

        @Override
        public synchronized void close() throws IOException {
            if (spill != null) {
                spill.close();
            }
        }
    }

    /**
     * Hashes in a temporary file (in java.io.tmpdir; the launcher passes TMPDIR), unlinked as soon
     * as it is open: it takes no name, and a killed process leaves nothing behind. 8 bytes per
     * 8 KiB of data: 1 GiB for 1 TiB.
     */
    static final class Spill implements AutoCloseable {
        private final FileChannel ch;
        private long end;

        private Spill(FileChannel ch) {
            this.ch = ch;
        }

        static Spill create() {
            try {
                Path p = Files.createTempFile("pgstrata-blockmap-", ".tmp");
                try {
                    return new Spill(FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE));
                } finally {
                    Files.delete(p);
                }
            } catch (IOException e) {
                throw cannotSpill(e);
            }
        }

        /**
         * The temporary directory is full (or refused): that is not a damaged block map in the
         * repository (exit 15, "run verify"), but a local I/O error that names the directory.
         */
        private static org.pgstrata.api.PgstrataException cannotSpill(IOException e) {
            org.pgstrata.api.PgstrataException denied = org.pgstrata.api.PermissionDenied.find(e);
            if (denied != null) {
                return denied;
            }
            String tmp = System.getProperty("java.io.tmpdir");
            return new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.IO, "cannot write a block map's hashes to a temporary file in "
                    + tmp + ": " + e.getMessage() + " (the repository is not affected)",
                    "free space in " + tmp + " (8 bytes per 8 KiB of data), or set TMPDIR to a directory with room", e);
        }

        /** Appends {@code h}; returns where it starts, in hashes. */
        long append(long[] h) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(h.length * 8);
            b.asLongBuffer().put(h);
            long at;
            synchronized (this) {
                at = end;
                end += h.length;
            }
            long pos = at * 8;
            try {
                while (b.hasRemaining()) {
                    pos += ch.write(b, pos);
                }
            } catch (IOException e) {
                throw cannotSpill(e);
            }
            return at;
        }

        long[] read(long at, int n) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(n * 8);
            long pos = at * 8;
            while (b.hasRemaining()) {
                int r = ch.read(b, pos);
                if (r < 0) {
                    throw new IOException("the block map's temporary file ends before hash " + (at + n));
                }
                pos += r;
            }
            b.flip();
            long[] h = new long[n];
            b.asLongBuffer().get(h);
            return h;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
