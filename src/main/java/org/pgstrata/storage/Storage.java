package org.pgstrata.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Where a repository's bytes live. Keys are relative, '/'-separated paths ("backup/X/manifest").
 * Every implementation passes the same contract test. The contract, per method:
 */
public interface Storage extends AutoCloseable {

    /**
     * {@code key} when it is a relative '/'-separated key that cannot leave the storage (no component
     * {@code ..}); refused otherwise. A name that merely contains two dots ("..x", "a...b") stays
     * inside: a listing returns such stray files, and reading them must not fail as a bad key.
     */
    static String checkedKey(String key) {
        if (key.isEmpty() || key.startsWith("/") || key.contains("\\") || java.util.Arrays.asList(key.split("/", -1)).contains("..")) {
            throw new IllegalArgumentException("invalid object key '" + key + "'");
        }
        return key;
    }

    /**
     * Starts writing an object. Nothing is visible under {@code key} until {@link ObjectWriter#commit()}
     * (or {@link ObjectWriter#commitIfAbsent()}) returns; after it returns the whole object is
     * durable (it survives a power loss). Closing a writer that was not committed discards it.
     * Committing over a key that exists replaces it atomically.
     */
    ObjectWriter create(String key) throws IOException;

    /** Reads a whole object. Throws {@link ObjectNotFoundException} when the key does not exist. */
    InputStream get(String key) throws IOException;

    /** Reads {@code length} bytes from {@code offset}; fewer only at the end of the object. */
    InputStream get(String key, long offset, long length) throws IOException;

    /** The object's size in bytes. Throws {@link ObjectNotFoundException} when it does not exist. */
    long size(String key) throws IOException;

    boolean exists(String key) throws IOException;

    /** Every key that starts with {@code prefix}, in lexical order; empty when there are none. */
    List<String> list(String prefix) throws IOException;

    /**
     * The first components of the stored keys, each once (a directory's entries, the top of a
     * bucket's prefix): what the store holds at its top, which stores answer without listing
     * every key.
     */
    default List<String> topLevelNames() throws IOException {
        return list("").stream().map(k -> k.indexOf('/') < 0 ? k : k.substring(0, k.indexOf('/'))).distinct().sorted().toList();
    }

    /**
     * The bytes stored under {@code prefix}: the sum of the sizes of its objects. Others may write
     * meanwhile (a push, archive_command's shell removing a spool note): an object removed between
     * the listing and its size is not counted.
     */
    default long totalBytes(String prefix) throws IOException {
        long sum = 0;
        for (String key : list(prefix)) {
            try {
                sum += size(key);
            } catch (ObjectNotFoundException gone) {
                // removed since the listing
            }
        }
        return sum;
    }

    /**
     * The sizes of every object under {@code prefix}, by key, from a listing, where the store
     * lists sizes with the names (S3: one request per 1,000 objects, against one per object for
     * {@link #size}); empty where asking each key is as cheap (a directory).
     */
    default java.util.Optional<java.util.Map<String, Long>> listedSizes(String prefix) throws IOException {
        return java.util.Optional.empty();
    }

    /**
     * How many reads of this store {@link #holdReads} lets be open at once, besides the one each
     * job has: {@link Integer#MAX_VALUE} where an open read costs nothing scarce (a file of a
     * directory). On S3 each open read holds one of the client's pooled connections, and a file
     * rebuilt from a chain holds a read per layer (see {@code Rebuild}).
     */
    default int readsAtOnce() {
        return Integer.MAX_VALUE;
    }

    /** What {@link #holdReads} gives: closing it lets others have the reads. */
    interface HeldReads extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Waits until {@code n} (at most {@link #readsAtOnce()}) reads may be opened, and holds them
     * until closed. All {@code n} are taken at once: threads that each held part of what they
     * waited for (two rebuilds of a long chain, a connection per layer, on a pool of 64) waited
     * for each other until the pool's timeout failed the restore. Returns at once where reads are
     * not limited.
     */
    default HeldReads holdReads(int n) {
        return () -> { };
    }

    /** Removes an object; removing one that does not exist is not an error. */
    void delete(String key) throws IOException;

    /**
     * Removes every object under {@code prefix} and whatever uncommitted writes that were cut
     * short (a killed process) left there. Only for prefixes nobody is writing to.
     */
    void deletePrefix(String prefix) throws IOException;

    /**
     * Removes what writers that were killed left half-written under {@code prefix} (never
     * listed as objects). Only for a prefix that nobody else writes while the caller holds the
     * lock. Stores whose writes are atomic leave nothing, hence the default.
     */
    default void deleteTemporary(String prefix) throws IOException {
        deleteTemporary(prefix, () -> { });
    }

    /**
     * {@link #deleteTemporary(String)}, running {@code beforeDeleting} once before the first
     * removal, and not at all when there is nothing to remove. The caller's lock check goes
     * there: on S3 it waits for the lease to be read back, and a repository that holds no
     * leftovers (nearly always) need not wait for that before its work starts.
     */
    default void deleteTemporary(String prefix, IoAction beforeDeleting) throws IOException {
        deleteTemporary(prefix, null, beforeDeleting);
    }

    /**
     * {@link #deleteTemporary(String, IoAction)} of the leftovers last written before
     * {@code before} only (null: all): for a prefix that writers without the lock use too (wal
     * push under archive/), whose leftovers only age tells from a write in progress.
     */
    default void deleteTemporary(String prefix, java.time.Instant before, IoAction beforeDeleting) throws IOException {
    }

    /** An action that may fail with an {@link IOException}. */
    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    /**
     * Writes that were started and never committed nor discarded (a killed writer), under
     * {@code prefix}: invisible to {@link #list}, named by verify, removed by
     * {@link #deleteTemporary}. Stores whose writes leave nothing behind return none.
     */
    default List<String> unfinishedWrites(String prefix) throws IOException {
        return List.of();
    }

    /**
     * The directories right under {@code prefix} (which ends in '/') that hold nothing, each as
     * {@code prefix + name + "/"}: what a writer killed between making its directory and its first
     * file left, or a removal of half-written files ({@link #deleteTemporary}). Invisible to
     * {@link #list}; {@link #deletePrefix} of one removes it. Stores without directories return none.
     */
    default List<String> emptyDirectories(String prefix) throws IOException {
        return List.of();
    }

    /**
     * Makes the place the repository lives in when it is missing (an S3 bucket); returns whether
     * it made it. A directory is made by the first write, hence the default.
     */
    default boolean prepare() throws IOException {
        return false;
    }

    /**
     * Takes the repository's writer lock, or fails at once with {@link LockedException} naming the
     * holder. The lock is released by {@link RepositoryLock#close()} or when the process dies.
     */
    RepositoryLock lock(String holder) throws IOException;

    /** Where this storage is, for messages ("/var/backups/pg", "s3://bucket/prefix"). */
    String describe();

    /** The location that opens this storage again ({@link StorageFactory#open}), options included. */
    default String location() {
        return describe();
    }

    @Override
    void close() throws IOException;

    /** A streaming upload that becomes visible, whole, only on commit. */
    interface ObjectWriter extends AutoCloseable {
        OutputStream stream();

        /** Makes the object durable and visible; returns its size in bytes. */
        long commit() throws IOException;

        /**
         * Makes the object durable and visible only if nothing is stored under its key: returns
         * true when it did; false when an object is there, which stays as it was while what this
         * writer wrote is discarded. Atomic: of any number of writers, in any processes and on any
         * hosts, racing to commit the same absent key, exactly one gets true. An object that made
         * another writer get false is whole and durable.
         */
        boolean commitIfAbsent() throws IOException;

        /** Discards the object unless it was committed. */
        @Override
        void close() throws IOException;
    }

    /** A held repository lock. */
    interface RepositoryLock extends AutoCloseable {
        /**
         * Throws {@link LockLostException}, saying why, once this lock can no longer be trusted to
         * be held: another writer took it over or removed it, or (a lease) it was not renewed in
         * time. From then on it always throws. A writer calls it before each write that a second
         * writer must never interleave with (a manifest, a delete), so that one that lost its lock
         * stops before its next such write.
         */
        void check() throws IOException;

        @Override
        void close() throws IOException;
    }

    default void putBytes(String key, byte[] bytes) throws IOException {
        try (ObjectWriter w = create(key)) {
            w.stream().write(bytes);
            w.commit();
        }
    }

    /** {@link ObjectWriter#commitIfAbsent()} of {@code bytes} under {@code key}. */
    default boolean putBytesIfAbsent(String key, byte[] bytes) throws IOException {
        try (ObjectWriter w = create(key)) {
            w.stream().write(bytes);
            return w.commitIfAbsent();
        }
    }

    /**
     * Shows that this store keeps {@link ObjectWriter#commitIfAbsent()}'s promise, for stores that
     * may not: an S3-compatible server that ignores If-None-Match answers every conditional write
     * as if the key were absent and overwrites. Writes a probe object twice (the second write must
     * be refused) and removes it; throws {@link NoConditionalWritesException} when it was not.
     */
    default void checkConditionalWrites() throws IOException {
        String key = PROBE_PREFIX + java.util.UUID.randomUUID();
        try {
            putBytesIfAbsent(key, new byte[] {1});
            if (putBytesIfAbsent(key, new byte[] {2})) {
                throw new NoConditionalWritesException(describe());
            }
        } catch (IOException | RuntimeException e) {
            try {
                delete(key);
            } catch (IOException | RuntimeException removal) {
                e.addSuppressed(removal); // a store that refused the write likely refuses the removal too: say why the write failed
            }
            throw e;
        }
        delete(key);
    }

    /** Where {@link #checkConditionalWrites()} puts its short-lived probe objects. */
    String PROBE_PREFIX = "probe/";

    default byte[] getBytes(String key) throws IOException {
        try (InputStream in = get(key)) {
            return in.readAllBytes();
        }
    }

    /**
     * The object's bytes, or empty when there is no such object, nor the place it would be in
     * (a bucket not yet made): one request where {@link #exists} and then {@link #getBytes} take two.
     */
    default java.util.Optional<byte[]> getBytesIfPresent(String key) throws IOException {
        try {
            return java.util.Optional.of(getBytes(key));
        } catch (ObjectNotFoundException e) {
            return java.util.Optional.empty();
        }
    }
}
