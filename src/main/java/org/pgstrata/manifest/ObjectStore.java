package org.pgstrata.manifest;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * Writes and reads repository objects: content is checksummed, compressed, then the stored bytes
 * are checksummed too (XXH64, see {@link Checksum}). Reads check the stored checksum, so nothing is used unchecked
 * (invariant 5); callers check the content checksum against the manifest as well.
 */
public final class ObjectStore {
    /** zstd level 3 is zstd's own default: close to level 1's speed, noticeably smaller. */
    public static final int ZSTD_LEVEL = 3;
    /**
     * Bundled small files (system catalogs, mostly) are a small share of the bytes but many
     * compressor calls; level 1 halves their cost for about 3% more of their (small) size.
     */
    public static final int ZSTD_LEVEL_SMALL = 1;
    /**
     * Files stored whole outside bundles (relation files above 256 KiB: nearly all of a full's
     * bytes), compressed in frames by several threads. Level 1 rather than zstd's default 3: on
     * 5,000,000 books (845 MB, 2 cores, two alternations) a full took 2.68 and 2.97 s against 3.86
     * and 3.82 s at level 3, with 4.0-4.4 against 6.2-6.4 s of user CPU, for 5.6% more bytes
     * (214.4 against 203.0 MB); zstd's fast levels saved no more time (-1: 2.66 and 2.92 s,
     * 262 MB; -3: 2.65 and 3.02 s, 301 MB). {@code backup --compress-level 3} stores them smaller.
     */
    public static final int ZSTD_LEVEL_WHOLE = 1;
    /**
     * Changed pages of files under 64 MiB (larger ones: {@link #createPages(String, String,
     * Compression, int)}). Level 6 stored them about 11% smaller than level 3 on the books table's
     * changed pages alone, but at about a quarter of its speed; over a whole incremental after a
     * small change (10,000 inserts and 1,000 updates on 5,000,000 books, four pairs) level 3 took
     * 0.03 to 0.14 s less (of 0.8 to 0.97 s) for 1.2 to 1.9% more bytes.
     */
    public static final int ZSTD_LEVEL_PAGES = 3;

    private final Storage storage;
    /** The zstd level every object is written at, or null for the levels above (each chosen for its kind of object). */
    private final Integer level;

    public ObjectStore(Storage storage) {
        this(storage, null);
    }

    private ObjectStore(Storage storage, Integer level) {
        this.storage = storage;
        this.level = level;
    }

    /**
     * The same store, writing every zstd object at {@code level} (see {@link Compression#zstdLevel};
     * null: this store, with the default levels). Reading does not depend on it.
     */
    public ObjectStore atLevel(Integer level) {
        if (level == null) {
            return this;
        }
        if (!Compression.zstdLevel(level)) {
            throw new IllegalArgumentException("zstd level " + level + " is not one pgstrata takes");
        }
        return new ObjectStore(storage, level);
    }

    private int level(int otherwise) {
        return level != null ? level : otherwise;
    }

    public Storage storage() {
        return storage;
    }

    /** An object being written. Write the raw content to {@link #content()}, then {@link #finish()}. */
    public final class PendingObject implements AutoCloseable {
        private final String backup;
        private final String key;
        private final Compression compression;
        private final Storage.ObjectWriter writer;
        private final Checksum contentDigest = new Checksum();
        private final Checksum storedDigest = new Checksum();
        private final CountingOut storedCounter;
        private final OutputStream compressor;
        private final OutputStream content;
        private long contentBytes;
        /** Set once {@link #finish()} has closed the compressor. */
        private boolean finished;

        private PendingObject(String backup, String key, Compression compression, int zstdWorkers, int zstdLevel, boolean framed)
                throws IOException {
            this.backup = backup;
            this.key = key;
            this.compression = compression;
            this.writer = storage.create(key);
            this.storedCounter = new CountingOut(writer.stream(), storedDigest);
            this.compressor = switch (compression) {
                case ZSTD -> {
                    if (framed) {
                        // Large objects: independent frames, compressed (and later decompressed) by several threads.
                        yield new ZstdFrames.Out(storedCounter, zstdLevel, zstdWorkers);
                    }
                    ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(storedCounter, RecyclingBufferPool.INSTANCE);
                    z.setLevel(zstdLevel);
                    yield z;
                }
                case LZ4 -> new LZ4FrameOutputStream(storedCounter, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB);
                case NONE -> storedCounter;
            };
            this.content = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    contentDigest.update(b, off, len);
                    contentBytes += len;
                    compressor.write(b, off, len);
                }
            };
        }

        public OutputStream content() {
            return content;
        }

        public long contentBytes() {
            return contentBytes;
        }

        /** Makes the object durable; returns its reference and the content's XXH64. */
        public Stored finish() throws IOException {
            finished = true; // the compressor is closed here, however that ends
            if (compressor != storedCounter) {
                compressor.close(); // writes the frame end; the storage stream stays open (see CountingOut)
            }
            writer.commit();
            ObjectRef ref = new ObjectRef(backup, key, compression.label(), storedCounter.count, storedDigest.hex());
            return new Stored(ref, contentDigest.hex(), contentBytes);
        }

        /**
         * Discards the object unless {@link #finish()} made it durable. An unfinished compressor
         * is let go of too: frames in flight hold the frame pool's permits (every later object
         * in the process would be compressed on one thread), and zstd's stream holds native memory.
         */
        @Override
        public void close() throws IOException {
            try {
                if (!finished && compressor != storedCounter) {
                    finished = true;
                    if (compressor instanceof ZstdFrames.Out frames) {
                        frames.abort();
                    } else {
                        try {
                            compressor.close(); // into the writer, which discards it
                        } catch (IOException | RuntimeException e) {
                            // the failure that abandoned the object is the one to report
                        }
                    }
                }
            } finally {
                writer.close();
            }
        }
    }

    public record Stored(ObjectRef ref, String contentChecksum, long contentBytes) {
    }

    public PendingObject create(String backup, String key, Compression compression) throws IOException {
        return new PendingObject(backup, key, compression, 1, level(ZSTD_LEVEL), false);
    }

    /** For the changed pages of an incremental or differential (see {@link #ZSTD_LEVEL_PAGES}). */
    public PendingObject createPages(String backup, String key, Compression compression) throws IOException {
        return createPages(backup, key, compression, 1);
    }

    /**
     * {@link #createPages(String, String, Compression)} for the pages of a large file, which may be
     * most of a big table after a busy day: with more than one worker they are compressed at level
     * 1, in frames, by {@code workers} threads. Level 6 runs at about a quarter of level 3's speed
     * (34 against 129 MB/s per core here), which for half the pages of a 5 GB table costs more
     * than reading them; level 1 takes 10 to 15% less time again than level 3 for 5 to 8% more
     * bytes (three incrementals, each after half the pages of 5,000,000 books changed: 3.02, 2.05,
     * 2.00 s and 178, 109, 105 MB at level 3; 2.56, 1.81, 1.82 s and 187, 118, 113 MB at level 1),
     * still fewer than pg_basebackup's and pgBackRest's incrementals of the same change.
     */
    public PendingObject createPages(String backup, String key, Compression compression, int workers) throws IOException {
        return workers > 1 ? new PendingObject(backup, key, compression, workers, level(ZSTD_LEVEL_SMALL), true)
                : new PendingObject(backup, key, compression, 1, level(ZSTD_LEVEL_PAGES), false);
    }

    /**
     * For files stored whole outside bundles: zstd writes independent frames ({@link ZstdFrames}),
     * compressed by up to {@code workers} threads, which a restore decompresses on several threads
     * too (other compressions ignore it).
     */
    public PendingObject create(String backup, String key, Compression compression, int workers) throws IOException {
        return new PendingObject(backup, key, compression, workers, level(ZSTD_LEVEL_WHOLE), true);
    }

    /**
     * Many small contents in one object, each compressed on its own so that it can be read alone
     * (a ranged read of its slice). Saves a file, an fsync and a compressor per small file.
     */
    public final class Bundle implements AutoCloseable {
        private final String backup;
        private final String key;
        private final Compression compression;
        private final Storage.ObjectWriter writer;
        private final ZstdCompressCtx zstd;
        private long size;

        private Bundle(String backup, String key, Compression compression) throws IOException {
            this.backup = backup;
            this.key = key;
            this.compression = compression;
            this.writer = storage.create(key);
            if (compression == Compression.ZSTD) {
                zstd = new ZstdCompressCtx();
                zstd.setLevel(level(ZSTD_LEVEL_SMALL));
            } else {
                zstd = null;
            }
        }

        /** Appends one content; the reference is valid once {@link #finish()} has returned. */
        public Stored add(byte[] content, int length) throws IOException {
            byte[] stored = switch (compression) {
                case ZSTD -> zstd.compress(length == content.length ? content : java.util.Arrays.copyOf(content, length));
                case LZ4 -> {
                    java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream(length / 2 + 64);
                    try (LZ4FrameOutputStream lz = new LZ4FrameOutputStream(bo, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB)) {
                        lz.write(content, 0, length);
                    }
                    yield bo.toByteArray();
                }
                case NONE -> java.util.Arrays.copyOf(content, length);
            };
            writer.stream().write(stored);
            ObjectRef ref = new ObjectRef(backup, key, compression.label(), stored.length, Checksum.of(stored), size);
            size += stored.length;
            return new Stored(ref, Checksum.of(content, 0, length), length);
        }

        public long size() {
            return size;
        }

        public void finish() throws IOException {
            writer.commit();
        }

        @Override
        public void close() throws IOException {
            if (zstd != null) {
                zstd.close();
            }
            writer.close();
        }
    }

    public Bundle bundle(String backup, String key, Compression compression) throws IOException {
        return new Bundle(backup, key, compression);
    }

    public Stored put(String backup, String key, Compression compression, byte[] content) throws IOException {
        try (PendingObject p = create(backup, key, compression)) {
            p.content().write(content);
            return p.finish();
        }
    }

    /**
     * Opens an object for reading its content. The stored bytes are checksummed as they are read;
     * reaching the end with a different checksum or size throws {@link CorruptObjectException}, so
     * read to the end before trusting what was read.
     */
    public InputStream open(ObjectRef ref) throws IOException {
        return open(ref, (ZstdFrames.Substitute) null);
    }

    /**
     * The stored bytes of a whole object, as they are: a bundle, read once so that its members
     * are opened from memory ({@link #open(ObjectRef, byte[])}) rather than each with a ranged
     * read, which costs a request apiece on object storage.
     */
    public byte[] readStored(String key) throws IOException {
        try {
            return storage.getBytes(key);
        } catch (ObjectNotFoundException e) {
            throw new CorruptObjectException(key, "is missing from " + storage.describe());
        }
    }

    /**
     * {@link #open(ObjectRef)}, with the object's stored bytes read now, whole (at most its
     * recorded stored size and one byte more: a longer object is damaged, as a changed one is),
     * so that no read of the store stays open while the content is used (see {@link
     * Storage#readsAtOnce}).
     */
    public InputStream openRead(ObjectRef ref, boolean streaming) throws IOException {
        if (ref.storedBytes() >= Integer.MAX_VALUE - 16) {
            throw new IOException("object " + ref.key() + " is too large (" + ref.storedBytes() + " stored bytes) to be read into memory");
        }
        byte[] bytes;
        try (InputStream raw = stored(ref)) {
            bytes = raw.readNBytes((int) ref.storedBytes() + 1);
        }
        return decoded(new java.io.ByteArrayInputStream(bytes), ref, null, streaming);
    }

    /**
     * {@link #open(ObjectRef)}, decoded with little memory when {@code streaming}: a rebuild holds
     * one open object for each layer of a file, and a chain of forty daily incrementals of a big
     * table held forty framed readers (up to three 4 MiB frames each).
     */
    public InputStream open(ObjectRef ref, boolean streaming) throws IOException {
        return decoded(stored(ref), ref, null, streaming);
    }

    /** Opens a bundle member from its bundle's stored bytes, checked as {@link #open(ObjectRef)} checks it. */
    public InputStream open(ObjectRef ref, byte[] bundle) throws IOException {
        long from = Math.min(ref.offset(), bundle.length);
        long length = Math.min(ref.storedBytes(), bundle.length - from);
        return decoded(new java.io.ByteArrayInputStream(bundle, (int) from, (int) length), ref);
    }

    /**
     * {@link #open(ObjectRef)}, except that frames whose content {@code substitute} (when not null)
     * has at hand are read (their stored bytes checked) and not decompressed.
     */
    public InputStream open(ObjectRef ref, ZstdFrames.Substitute substitute) throws IOException {
        return decoded(stored(ref), ref, substitute);
    }

    /** The object's stored bytes (a bundle member's range of its bundle), unchecked. */
    private InputStream stored(ObjectRef ref) throws IOException {
        try {
            return ref.offset() == null ? storage.get(ref.key()) : storage.get(ref.key(), ref.offset(), ref.storedBytes());
        } catch (ObjectNotFoundException e) {
            throw new CorruptObjectException(ref.key(), "is missing from " + storage.describe());
        }
    }

    private InputStream decoded(InputStream raw, ObjectRef ref) throws IOException {
        return decoded(raw, ref, null);
    }

    private InputStream decoded(InputStream raw, ObjectRef ref, ZstdFrames.Substitute substitute) throws IOException {
        return decoded(raw, ref, substitute, false);
    }

    /** @param streaming decode with little memory, on this thread ({@link ZstdFrames.In#In(InputStream, ZstdFrames.Substitute, long, boolean)}) */
    private InputStream decoded(InputStream raw, ObjectRef ref, ZstdFrames.Substitute substitute, boolean streaming) throws IOException {
        CheckingIn checked = new CheckingIn(raw, ref);
        Compression c = Compression.parse(ref.compression());
        return switch (c) {
            case ZSTD -> new DrainingIn(new ZstdFrames.In(checked, substitute, ref.storedBytes(), streaming), checked);
            case LZ4 -> new DrainingIn(new LZ4FrameInputStream(checked), checked);
            case NONE -> checked;
        };
    }

    /**
     * Opens an object whose content the manifest describes: {@code size} bytes with checksum
     * {@code checksum}. Besides the stored bytes' check, reaching the end with other content
     * throws {@link CorruptObjectException}, so read to the end before trusting what was read.
     */
    public InputStream openContent(ObjectRef ref, long size, String checksum) throws IOException {
        return new CheckingIn(open(ref), ref.key(), size, checksum, "content ");
    }

    /** Reads a whole object, checked, into memory (for small objects). */
    public byte[] readAll(ObjectRef ref) throws IOException {
        try (InputStream in = open(ref)) {
            return in.readAllBytes();
        }
    }

    /** Rereads the stored bytes and checks size and checksum, without decompressing. */
    public void verifyStored(ObjectRef ref) throws IOException {
        try (InputStream in = ref.offset() == null ? storage.get(ref.key()) : storage.get(ref.key(), ref.offset(), ref.storedBytes())) {
            CheckingIn c = new CheckingIn(in, ref);
            c.transferTo(OutputStream.nullOutputStream());
        } catch (ObjectNotFoundException e) {
            throw new CorruptObjectException(ref.key(), "is missing from " + storage.describe());
        }
    }

    private static final class CountingOut extends FilterOutputStream {
        private final Checksum digest;
        long count;

        CountingOut(OutputStream out, Checksum digest) {
            super(out);
            this.digest = digest;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            digest.update(b, off, len);
            count += len;
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush(); // the storage writer owns the underlying stream
        }
    }

    /**
     * Checks size and checksum when the end is reached: of the stored bytes (an object's
     * reference), or with {@code what} "content ", of the content a manifest describes.
     */
    private static final class CheckingIn extends FilterInputStream {
        private final String key;
        private final long size;
        private final String checksum;
        private final String what;
        private final Checksum digest = new Checksum();
        private long count;
        private boolean checked;
        /**
         * The store's own read error, once it threw one (a connection dropped mid-object): what
         * was read then is cut short by the transfer, not in the store, so it is that I/O error
         * again, never a verdict on the object.
         */
        private IOException storeError;

        CheckingIn(InputStream in, ObjectRef ref) {
            this(in, ref.key(), ref.storedBytes(), ref.storedChecksum(), "");
        }

        CheckingIn(InputStream in, String key, long size, String checksum, String what) {
            super(in);
            this.key = key;
            this.size = size;
            this.checksum = checksum;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (storeError != null) {
                throw storeError;
            }
            int n;
            try {
                n = in.read(b, off, len);
            } catch (CorruptObjectException e) {
                throw e;
            } catch (IOException e) {
                storeError = e;
                throw e;
            }
            if (n > 0) {
                digest.update(b, off, n);
                count += n;
                if (count > size) {
                    throw new CorruptObjectException(key, "is longer than the " + size + " " + what + "bytes recorded");
                }
            } else if (n < 0) {
                check();
            }
            return n;
        }

        void check() throws IOException {
            if (checked) {
                return;
            }
            checked = true;
            if (count != size) {
                throw new CorruptObjectException(key, "has " + count + " " + what + "bytes, the manifest recorded " + size);
            }
            String actual = digest.hex();
            if (!actual.equals(checksum)) {
                throw new CorruptObjectException(key, "has " + what + "checksum " + actual + ", the manifest recorded " + checksum);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            return super.skip(0);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /**
     * Decompressors may stop reading at the end of their frame without touching the end of the
     * stored stream; this drains the rest so the stored checksum is always checked, and turns a
     * decompression failure into a corruption report.
     */
    private static final class DrainingIn extends FilterInputStream implements InPlace {
        private final CheckingIn stored;
        /** Where a decoder that cannot hand out its bytes in place (LZ4) is read into for {@link #readInPlace}. */
        private byte[] scratch;
        private byte[] viewArray;
        private int viewOffset;

        DrainingIn(InputStream decompressed, CheckingIn stored) {
            super(decompressed);
            this.stored = stored;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                throw judged(e);
            }
            return ended(n);
        }

        @Override
        public int readInPlace(int max) throws IOException {
            if (!(in instanceof InPlace p)) {
                scratch = InPlace.scratch(scratch, max);
                viewArray = scratch;
                viewOffset = 0;
                return read(scratch, 0, Math.min(max, scratch.length));
            }
            int n;
            try {
                n = p.readInPlace(max);
            } catch (IOException | RuntimeException e) {
                throw judged(e);
            }
            viewArray = p.array();
            viewOffset = p.offset();
            return ended(n);
        }

        @Override
        public byte[] array() {
            return viewArray;
        }

        @Override
        public int offset() {
            return viewOffset;
        }

        /** What a failed read of the decoded content is: judged by the stored bytes' checksum, which names the real problem. */
        private IOException judged(Exception e) throws IOException {
            if (e instanceof CorruptObjectException c) {
                return c;
            }
            if (stored.storeError != null) {
                return stored.storeError; // the store failed to deliver the bytes: nothing to judge them by
            }
            drainAndCheck();
            return new CorruptObjectException(stored.key, "cannot be decompressed (" + e.getMessage() + ")");
        }

        /** At the end of the content, the stored bytes' checksum is checked. */
        private int ended(int n) throws IOException {
            if (n < 0) {
                drainAndCheck();
            }
            return n;
        }

        private void drainAndCheck() throws IOException {
            byte[] buf = new byte[8192];
            while (stored.read(buf, 0, buf.length) >= 0) {
                // keep reading to the end; CheckingIn checks on EOF
            }
            stored.check();
        }
    }
}
