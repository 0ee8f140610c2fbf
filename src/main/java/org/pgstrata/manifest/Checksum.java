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

    private final StreamingXXHash64 hash = Native.FACTORY.newStreamingHash64(0);

    public void update(byte[] b, int off, int len) {
        hash.update(b, off, len);
    }

    public String hex() {
        return String.format("%016x", hash.getValue());
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
