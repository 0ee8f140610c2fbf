package org.pgstrata.manifest;

import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The checksum of file content and of stored objects: XXH64, printed as 16 hex digits. It is
 * there to catch corruption (a flipped bit, a torn or truncated object), not tampering; at
 * about 5 GB/s it costs a fraction of SHA-256's 1 GB/s, which matters on the backup's critical
 * path. Metadata files (manifests, repo.json) carry a CRC-32C in their envelope.
 */
public final class Checksum {
    public static final String ALGORITHM = "xxh64";
    /** The checksum of no bytes. */
    public static final String EMPTY = "ef46db3751d8e999";

    private static final class Native {
        static final XXHashFactory FACTORY = XXHashFactory.fastestInstance();
    }

    /**
     * The prefix of a file's checksum in block form: the XXH64 of its blocks' XXH64s (each 8 KiB
     * block, a short last one as it is, the hashes as 64-bit big-endian numbers in block order).
     * It equals what the block map says of the file, so a backup that reads only a file's changed
     * blocks (the others known unchanged from WAL summaries) can still record the checksum of the
     * whole content, and a restore checks it like any other.
     */
    public static final String BLOCKS_PREFIX = "blk:";

    private final StreamingXXHash64 hash = Native.FACTORY.newStreamingHash64(0);
    /** In block form: the current block's bytes, and how many it holds; null in plain form. */
    private final byte[] block;
    private int fill;
    private final byte[] eight = new byte[8];
    private String result;

    public Checksum() {
        this(false);
    }

    private Checksum(boolean blocks) {
        this.block = blocks ? new byte[BLOCK] : null;
    }

    /** A digest that computes a checksum in the same form as {@code expected} (plain, or {@link #BLOCKS_PREFIX}). */
    public static Checksum like(String expected) {
        return new Checksum(isBlockForm(expected));
    }

    /** Whether {@code checksum} is in block form. */
    public static boolean isBlockForm(String checksum) {
        return checksum != null && checksum.startsWith(BLOCKS_PREFIX);
    }

    /** The block-form checksum of content whose blocks hash to {@code hashes}. */
    public static String ofBlockHashes(long[] hashes) {
        Checksum c = new Checksum(true);
        for (long h : hashes) {
            c.addBlockHash(h);
        }
        return c.finish();
    }

    private static final int BLOCK = 8192;

    public void update(byte[] b, int off, int len) {
        if (block == null) {
            hash.update(b, off, len);
            return;
        }
        while (len > 0) {
            int n = Math.min(len, BLOCK - fill);
            if (fill == 0 && n == BLOCK) {
                addBlockHash(hash64(b, off, BLOCK));
            } else {
                System.arraycopy(b, off, block, fill, n);
                fill += n;
                if (fill == BLOCK) {
                    addBlockHash(hash64(block, 0, BLOCK));
                    fill = 0;
                }
            }
            off += n;
            len -= n;
        }
    }

    private void addBlockHash(long h) {
        for (int i = 0; i < 8; i++) {
            eight[i] = (byte) (h >>> (56 - 8 * i));
        }
        hash.update(eight, 0, 8);
    }

    private String finish() {
        if (result == null) {
            if (block != null && fill > 0) {
                addBlockHash(hash64(block, 0, fill));
                fill = 0;
            }
            result = (block == null ? "" : BLOCKS_PREFIX) + String.format("%016x", hash.getValue());
        }
        return result;
    }

    /** The checksum of everything given to {@link #update}; call it once, at the end. */
    public String hex() {
        return finish();
    }

    public static String of(byte[] b, int off, int len) {
        return String.format("%016x", Native.FACTORY.hash64().hash(b, off, len, 0));
    }

    /** The XXH64 of some bytes as a number. */
    public static long hash64(byte[] b, int off, int len) {
        return Native.FACTORY.hash64().hash(b, off, len, 0);
    }

    public static String of(byte[] b) {
        return of(b, 0, b.length);
    }

    /** The checksum of a buffer's remaining bytes (its position is left alone). */
    public static String of(java.nio.ByteBuffer b) {
        return String.format("%016x", Native.FACTORY.hash64().hash(b, b.position(), b.remaining(), 0));
    }

    private static final class Lean {
        static final XXHashFactory JAVA = XXHashFactory.fastestJavaInstance();
    }

    /**
     * The same checksum computed in Java, for the WAL push path: one short-lived process per
     * segment would spend more unpacking and loading the native library than it saves.
     */
    public static String ofLean(byte[] b) {
        return String.format("%016x", Lean.JAVA.hash64().hash(b, 0, b.length, 0));
    }
}
