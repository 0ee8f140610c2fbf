package org.pgstrata.manifest;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * Writes and reads repository objects: content is checksummed, compressed, then the stored bytes
 * are checksummed too. Reads check the stored checksum, so nothing is used unchecked
 * (invariant 5); callers check the content checksum against the manifest as well.
 */
public final class ObjectStore {
    /** zstd level 3 is zstd's own default: close to level 1's speed, noticeably smaller. */
    public static final int ZSTD_LEVEL = 3;

    private final Storage storage;

    public ObjectStore(Storage storage) {
        this.storage = storage;
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
        private final MessageDigest contentDigest = Hashing.sha256();
        private final MessageDigest storedDigest = Hashing.sha256();
        private final CountingOut storedCounter;
        private final OutputStream compressor;
        private final OutputStream content;
        private long contentBytes;

        private PendingObject(String backup, String key, Compression compression) throws IOException {
            this.backup = backup;
            this.key = key;
            this.compression = compression;
            this.writer = storage.create(key);
            this.storedCounter = new CountingOut(writer.stream(), storedDigest);
            this.compressor = switch (compression) {
                case ZSTD -> new ZstdOutputStreamNoFinalizer(storedCounter, ZSTD_LEVEL);
                case LZ4 -> new LZ4FrameOutputStream(storedCounter);
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

        /** Makes the object durable; returns its reference and the content's SHA-256. */
        public Stored finish() throws IOException {
            if (compressor != storedCounter) {
                compressor.close(); // writes the frame end; the storage stream stays open (see CountingOut)
            }
            writer.commit();
            ObjectRef ref = new ObjectRef(backup, key, compression.label(), storedCounter.count, Hashing.hex(storedDigest.digest()));
            return new Stored(ref, Hashing.hex(contentDigest.digest()), contentBytes);
        }

        @Override
        public void close() throws IOException {
            writer.close();
        }
    }

    public record Stored(ObjectRef ref, String contentSha256, long contentBytes) {
    }

    public PendingObject create(String backup, String key, Compression compression) throws IOException {
        return new PendingObject(backup, key, compression);
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
        InputStream raw;
        try {
            raw = storage.get(ref.key());
        } catch (ObjectNotFoundException e) {
            throw new CorruptObjectException(ref.key(), "is missing from " + storage.describe());
        }
        CheckingIn checked = new CheckingIn(raw, ref);
        Compression c = Compression.parse(ref.compression());
        return switch (c) {
            case ZSTD -> new DrainingIn(new ZstdInputStreamNoFinalizer(checked), checked);
            case LZ4 -> new DrainingIn(new LZ4FrameInputStream(checked), checked);
            case NONE -> checked;
        };
    }

    /** Reads a whole object, checked, into memory (for small objects). */
    public byte[] readAll(ObjectRef ref) throws IOException {
        try (InputStream in = open(ref)) {
            return in.readAllBytes();
        }
    }

    /** Rereads the stored bytes and checks size and checksum, without decompressing. */
    public void verifyStored(ObjectRef ref) throws IOException {
        try (InputStream in = storage.get(ref.key())) {
            CheckingIn c = new CheckingIn(in, ref);
            c.transferTo(OutputStream.nullOutputStream());
        } catch (ObjectNotFoundException e) {
            throw new CorruptObjectException(ref.key(), "is missing from " + storage.describe());
        }
    }

    private static final class CountingOut extends FilterOutputStream {
        private final MessageDigest digest;
        long count;

        CountingOut(OutputStream out, MessageDigest digest) {
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

    /** Checks size and checksum of the stored bytes when the end is reached. */
    private static final class CheckingIn extends FilterInputStream {
        private final ObjectRef ref;
        private final MessageDigest digest = Hashing.sha256();
        private long count;
        private boolean checked;

        CheckingIn(InputStream in, ObjectRef ref) {
            super(in);
            this.ref = ref;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                digest.update(b, off, n);
                count += n;
                if (count > ref.storedBytes()) {
                    throw new CorruptObjectException(ref.key(), "is longer than the " + ref.storedBytes() + " bytes recorded");
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
            if (count != ref.storedBytes()) {
                throw new CorruptObjectException(ref.key(), "has " + count + " bytes, the manifest recorded " + ref.storedBytes());
            }
            String actual = Hashing.hex(digest.digest());
            if (!actual.equals(ref.storedSha256())) {
                throw new CorruptObjectException(ref.key(), "has checksum " + actual + ", the manifest recorded " + ref.storedSha256());
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
    private static final class DrainingIn extends FilterInputStream {
        private final CheckingIn stored;

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
            } catch (CorruptObjectException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                // Prefer the checksum's verdict: drain and check, which names the real problem.
                drainAndCheck();
                throw new CorruptObjectException(stored.ref.key(), "cannot be decompressed (" + e.getMessage() + ")");
            }
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
