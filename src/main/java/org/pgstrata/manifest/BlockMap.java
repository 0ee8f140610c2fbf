package org.pgstrata.manifest;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.pgstrata.api.Compression;
import org.pgstrata.postgres.Page;

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
 */
public final class BlockMap {
    /** What {@link Manifest#blockMap()}'s hashes are: XXH64 of each 8 KiB block. */
    public static final String KEY_NAME = "blockmap";

    private final Map<String, long[]> byPath;

    private BlockMap(Map<String, long[]> byPath) {
        this.byPath = byPath;
    }

    /** The hash of a block: XXH64 of its bytes (fewer than 8 KiB for a file's short last block). */
    public static long hash(byte[] b, int off, int len) {
        return Checksum.hash64(b, off, len);
    }

    /** The number of blocks a file of {@code size} bytes has, its short last one included. */
    public static long blocks(long size) {
        return (size + Page.SIZE - 1) / Page.SIZE;
    }

    /** The hashes of {@code path}'s blocks as the backup read them, or null when the file is not in it. */
    public long[] of(String path) {
        return byPath.get(path);
    }

    public static String key(String backupId) {
        return Repository.BACKUP_PREFIX + backupId + "/" + KEY_NAME;
    }

    /**
     * Reads and checks the block map of {@code m}: the stored checksum, and a length that fits
     * the manifest's files exactly. Null when {@code m} has none (format 1).
     */
    public static BlockMap read(ObjectStore objects, Manifest m) throws IOException {
        if (m.blockMap() == null) {
            return null;
        }
        long total = 0;
        for (FileEntry f : m.files()) {
            total += blocks(f.size());
        }
        if (total * 8 > Integer.MAX_VALUE - 8) {
            throw new IOException("the block map of " + m.id() + " is too large to hold in memory (" + total + " blocks)");
        }
        Map<String, long[]> byPath = new HashMap<>();
        try (InputStream raw = objects.open(m.blockMap()); DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw, 1 << 16))) {
            for (FileEntry f : m.files()) {
                long[] h = new long[(int) blocks(f.size())];
                for (int i = 0; i < h.length; i++) {
                    try {
                        h[i] = in.readLong();
                    } catch (java.io.EOFException e) {
                        throw new CorruptObjectException(m.blockMap().key(), "ends before the hashes of " + f.path()
                                + ": it does not fit the manifest of " + m.id());
                    }
                }
                byPath.put(f.path(), h);
            }
            if (in.read() >= 0) {
                throw new CorruptObjectException(m.blockMap().key(), "is longer than the manifest of " + m.id() + " needs");
            }
        }
        return new BlockMap(byPath);
    }

    /** Collects the hashes of the blocks a backup reads, from any number of threads. */
    public static final class Builder {
        private final Map<String, long[]> byPath = new ConcurrentHashMap<>();

        /** Records the hashes of {@code path}'s blocks (one per block of the size the manifest records for it). */
        public void put(String path, long[] hashes) {
            byPath.put(path, hashes);
        }

        /**
         * Writes the map for {@code files} (the manifest's, in its order) and returns where it is.
         * Every file must have been recorded with one hash per block of its recorded size.
         */
        public ObjectRef write(ObjectStore objects, String backupId, List<FileEntry> files) throws IOException {
            try (ObjectStore.PendingObject out = objects.create(backupId, key(backupId), Compression.NONE)) {
                ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                for (FileEntry f : files) {
                    long[] h = byPath.get(f.path());
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
}
