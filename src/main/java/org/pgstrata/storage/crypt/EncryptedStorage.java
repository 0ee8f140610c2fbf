package org.pgstrata.storage.crypt;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * A store whose objects are encrypted and authenticated ({@link RepositoryCipher}) on their way
 * to another store, a directory or a bucket, which then holds nothing readable: neither content
 * nor names. Callers see the clear keys and the plaintext, sizes included.
 *
 * <p>Left clear: the repository's identity file ({@code repo.json}, which holds the wrapped data
 * key) and the lock, which the inner store keeps itself. A stored object that fails
 * authentication (a flipped bit, a cut-short object, an object moved to another name, or one
 * written with another key) is a {@link CorruptObjectException}, thrown before any byte of the
 * failing segment is returned. Errors of the inner store pass through as they are.
 */
public final class EncryptedStorage implements Storage {
    /** Keys stored as they are: the identity file, which must be read before any key is known. */
    public static final Set<String> CLEAR = Set.of("repo.json");

    private final Storage inner;
    private final java.util.concurrent.Future<RepositoryCipher> pending;
    private volatile RepositoryCipher cipher;

    public EncryptedStorage(Storage inner, RepositoryCipher cipher) {
        this.inner = inner;
        this.cipher = cipher;
        this.pending = null;
    }

    /**
     * A store whose cipher is still being made (the passphrase's key derivation takes about
     * 0.1 s): the first call that needs it waits for it, and fails as making it failed (a wrong
     * passphrase, for one). Names in the clear ({@link #CLEAR}) and the lock never wait.
     */
    public EncryptedStorage(Storage inner, java.util.concurrent.Future<RepositoryCipher> pending) {
        this.inner = inner;
        this.pending = pending;
    }

    /** The cipher, once made; waits for it. An error in making it is thrown here, as it was thrown there. */
    public RepositoryCipher cipher() {
        RepositoryCipher c = cipher;
        if (c != null) {
            return c;
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    c = pending.get();
                    cipher = c;
                    return c;
                } catch (InterruptedException e) {
                    interrupted = true; // the key derivation is short: wait it out, then pass the interrupt on
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException("making the repository's cipher failed", e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Runs the key derivation, the key unwrap, both ciphers and name encryption once on a few
     * bytes: for the launcher's class data sharing archive (see Warmup), so that a command on an
     * encrypted repository does not load and verify these classes from their jars. Writes nothing.
     */
    public static void warmUp() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        KeyEnvelope.wrap(key, "warmup".toCharArray(), 8 * 1024, 1).unwrap("warmup".toCharArray());
        RepositoryCipher c = new RepositoryCipher(key);
        java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        try (OutputStream out = c.encrypting(sink, "warmup")) {
            out.write(new byte[4096]);
        }
        try (InputStream in = c.decrypting(new java.io.ByteArrayInputStream(sink.toByteArray()), "warmup")) {
            in.readAllBytes();
        }
        c.decryptName(c.encryptName("backup/warmup/data/x"));
        c.plaintextSize(sink.size());
    }

    /**
     * Whether {@code storedKey}, as the inner store lists it, starts with a component this class
     * could have written (base64url of at least SIV's 16-byte tag and one byte), which no clear
     * repository's top-level names (backup, logical, archive, lock, repo.json, probe) are.
     */
    public static boolean looksEncrypted(String storedKey) {
        int slash = storedKey.indexOf('/');
        String first = slash < 0 ? storedKey : storedKey.substring(0, slash);
        return first.length() >= 23 && first.matches("[A-Za-z0-9_-]+");
    }

    /**
     * The names among {@code topLevel} (the inner store's top-level names, as listed) that have the shape of one of {@code clearNames}
     * encrypted (SIV's 16-byte tag and the name, in base64url) but that this repository's key did
     * not write: another repository's objects, which this one would neither see nor list. Other
     * names (a shared bucket's own keys) are left alone.
     */
    public List<String> foreignNames(java.util.Collection<String> clearNames, List<String> topLevel) {
        Set<Integer> shapes = new java.util.HashSet<>();
        for (String n : clearNames) {
            int stored = 16 + n.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            shapes.add(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[stored]).length());
        }
        List<String> foreign = new ArrayList<>();
        for (String n : topLevel) {
            if (looksEncrypted(n) && shapes.contains(n.length()) && clear(n) == null) {
                foreign.add(n);
            }
        }
        return foreign;
    }

    /** The store the ciphertext goes to. */
    public Storage inner() {
        return inner;
    }

    private String stored(String key) throws IOException {
        return CLEAR.contains(key) ? key : cipher().encryptName(Storage.checkedKey(key));
    }

    /** The clear key of a stored name, or null for a name this repository's key did not write. */
    private String clear(String stored) {
        if (CLEAR.contains(stored)) {
            return stored;
        }
        try {
            return cipher().decryptName(stored);
        } catch (GeneralSecurityException e) {
            return null;
        }
    }

    private static CorruptObjectException damaged(String key, IOException cause) {
        // Tink's message spans lines (the decrypting stream's state, one field a line): errors are one line.
        String why = org.pgstrata.api.PgstrataException.joinLines(String.valueOf(cause.getMessage()));
        CorruptObjectException e = new CorruptObjectException(key, "fails its authentication: it was changed or cut short, "
                + "moved from another name, or written with another key (" + why + ")");
        e.initCause(cause);
        return e;
    }

    @Override
    public ObjectWriter create(String key) throws IOException {
        if (CLEAR.contains(key)) {
            return inner.create(key);
        }
        ObjectWriter w = inner.create(stored(key));
        OutputStream enc;
        try {
            enc = cipher().encrypting(new FilterOutputStream(w.stream()) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    out.flush(); // the writer commits or discards; closing its stream is not ours to do
                }
            }, key);
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
        return new ObjectWriter() {
            private long plain;
            private final OutputStream counting = new FilterOutputStream(enc) {
                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                    plain++;
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    plain += len;
                }

                @Override
                public void close() {
                    // commit finishes the ciphertext
                }
            };

            @Override
            public OutputStream stream() {
                return counting;
            }

            @Override
            public long commit() throws IOException {
                enc.close(); // the last segment and its tag
                w.commit();
                return plain;
            }

            @Override
            public boolean commitIfAbsent() throws IOException {
                enc.close();
                return w.commitIfAbsent();
            }

            @Override
            public void close() throws IOException {
                w.close();
            }
        };
    }

    @Override
    public InputStream get(String key) throws IOException {
        if (CLEAR.contains(key)) {
            return inner.get(key);
        }
        InputStream raw = named(key, () -> inner.get(stored(key)));
        InputStream plain;
        try {
            plain = cipher().decrypting(new Tagged(raw), key);
        } catch (IOException e) {
            raw.close();
            throw e;
        }
        return new Authenticated(plain, key);
    }

    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
        if (CLEAR.contains(key)) {
            return inner.get(key, offset, length);
        }
        String s = stored(key);
        long cipherSize = named(key, () -> inner.size(s));
        long size = plainSize(key, cipherSize);
        long start = Math.min(offset, size);
        long n = Math.max(0, Math.min(length, size - start));
        SeekableByteChannel channel;
        try {
            channel = cipher().decrypting(new Ranged(inner, s, cipherSize), key);
            channel.position(start);
        } catch (IOException e) {
            throw damaged(key, e);
        }
        return new Authenticated(new InputStream() {
            private long left = n;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int got = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, left)));
                if (got < 0) {
                    throw new IOException("the object ended " + left + " bytes early");
                }
                left -= got;
                return got;
            }

            @Override
            public void close() throws IOException {
                channel.close();
            }
        }, key);
    }

    /**
     * The plaintext size that {@code cipherSize} stored bytes hold. Computed, not checked: an
     * object cut inside its last segment still has a plausible size, and fails when it is read.
     */
    private long plainSize(String key, long cipherSize) throws CorruptObjectException {
        long p = cipher().plaintextSize(cipherSize);
        if (p < 0) {
            throw new CorruptObjectException(key, "has " + cipherSize + " stored bytes, which no encrypted object has: it was cut short or extended");
        }
        return p;
    }

    @Override
    public long size(String key) throws IOException {
        if (CLEAR.contains(key)) {
            return inner.size(key);
        }
        return plainSize(key, named(key, () -> inner.size(stored(key))));
    }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    /** The inner store's not-found, naming the clear key rather than its stored name. */
    private <T> T named(String key, IoCall<T> call) throws IOException {
        try {
            return call.call();
        } catch (ObjectNotFoundException e) {
            ObjectNotFoundException named = new ObjectNotFoundException(key, describe());
            named.initCause(e);
            throw named;
        }
    }

    @Override
    public boolean exists(String key) throws IOException {
        return inner.exists(stored(key));
    }

    /**
     * The directory part of {@code prefix} (whole components, each encrypted) is listed in the
     * inner store; a partial last component is matched after decrypting, so it lists its
     * directory whole.
     */
    @Override
    public List<String> list(String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        for (String s : inner.list(storedDirectory(prefix))) {
            String k = clear(s);
            if (k != null && k.startsWith(prefix)) {
                keys.add(k);
            }
        }
        keys.sort(null);
        return keys;
    }

    private String storedDirectory(String prefix) throws IOException {
        int slash = prefix.lastIndexOf('/');
        return slash < 0 ? "" : cipher().encryptName(prefix.substring(0, slash)) + "/";
    }

    /** The inner store's: a read of ciphertext holds what a read of it holds there. */
    @Override
    public int readsAtOnce() {
        return inner.readsAtOnce();
    }

    @Override
    public HeldReads holdReads(int n) {
        return inner.holdReads(n);
    }

    /** What the objects take in the inner store: their ciphertext. */
    @Override
    public long totalBytes(String prefix) throws IOException {
        if (prefix.isEmpty() || prefix.endsWith("/")) {
            return inner.totalBytes(storedDirectory(prefix));
        }
        long sum = 0;
        for (String k : list(prefix)) {
            try {
                sum += inner.size(stored(k));
            } catch (ObjectNotFoundException gone) {
                // removed since the listing
            }
        }
        return sum;
    }

    @Override
    public Optional<Map<String, Long>> listedSizes(String prefix) throws IOException {
        Optional<Map<String, Long>> listed = inner.listedSizes(storedDirectory(prefix));
        if (listed.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Long> sizes = new HashMap<>();
        for (var e : listed.get().entrySet()) {
            String k = clear(e.getKey());
            if (k != null && k.startsWith(prefix)) {
                long p = cipher().plaintextSize(e.getValue());
                sizes.put(k, p < 0 ? 0 : p); // a length no object has reads as empty: smaller than any recorded size
            }
        }
        return Optional.of(sizes);
    }

    @Override
    public void delete(String key) throws IOException {
        inner.delete(stored(key));
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        if (prefix.isEmpty() || prefix.endsWith("/")) {
            inner.deletePrefix(storedDirectory(prefix));
            return;
        }
        for (String k : list(prefix)) {
            delete(k);
        }
    }

    @Override
    public void deleteTemporary(String prefix, java.time.Instant before, IoAction beforeDeleting) throws IOException {
        inner.deleteTemporary(storedDirectory(prefix), before, beforeDeleting);
    }

    /** The inner store's, by their clear names; one whose name cannot be read is not one of this repository's. */
    @Override
    public List<String> emptyDirectories(String prefix) throws IOException {
        List<String> dirs = new ArrayList<>();
        for (String s : inner.emptyDirectories(storedDirectory(prefix))) {
            String k = clear(s.substring(0, s.length() - 1));
            if (k != null && (k + "/").startsWith(prefix)) {
                dirs.add(k + "/");
            }
        }
        dirs.sort(null);
        return dirs;
    }

    /** Unfinished writes by their clear names where the name can be read; the inner store's name otherwise. */
    @Override
    public List<String> unfinishedWrites(String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        for (String s : inner.unfinishedWrites(storedDirectory(prefix))) {
            String k = clearPrefix(s);
            if (k.startsWith(prefix)) {
                keys.add(k);
            }
        }
        keys.sort(null);
        return keys;
    }

    /** The clear form of as many leading components of {@code stored} as decrypt (a temporary file's name ends in its own suffix). */
    private String clearPrefix(String stored) {
        String k = clear(stored);
        if (k != null) {
            return k;
        }
        int slash = stored.lastIndexOf('/');
        String dir = slash < 0 ? "" : clear(stored.substring(0, slash));
        if (dir == null) {
            return stored;
        }
        String leaf = stored.substring(slash + 1);
        int dot = leaf.indexOf('.'); // a temporary file: the object's stored name, then the store's suffix (no '.' in base64url)
        String name = dot < 0 ? null : clear(leaf.substring(0, dot));
        String clearLeaf = name != null ? name + leaf.substring(dot) : leaf;
        return slash < 0 ? clearLeaf : dir + "/" + clearLeaf;
    }

    @Override
    public boolean prepare() throws IOException {
        return inner.prepare();
    }

    @Override
    public void checkConditionalWrites() throws IOException {
        inner.checkConditionalWrites();
    }

    @Override
    public RepositoryLock lock(String holder) throws IOException {
        return inner.lock(holder);
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public String location() {
        return inner.location();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }

    /** The inner store's read errors, told apart from Tink's authentication failures. */
    private static final class StoreIo extends IOException {
        StoreIo(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Marks the inner stream's own errors, so that {@link Authenticated} passes them on unchanged. */
    private static final class Tagged extends FilterInputStream {
        Tagged(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (IOException e) {
                throw new StoreIo(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (IOException e) {
                throw new StoreIo(e);
            }
        }
    }

    /** Turns a failed decryption into a {@link CorruptObjectException}; the inner store's errors pass unchanged. */
    private static final class Authenticated extends FilterInputStream {
        private final String key;

        Authenticated(InputStream in, String key) {
            super(in);
            this.key = key;
        }

        private IOException translated(IOException e) {
            if (e instanceof StoreIo s) {
                return (IOException) s.getCause();
            }
            if (e.getCause() instanceof StoreIo s) {
                return (IOException) s.getCause();
            }
            if (e instanceof CorruptObjectException) {
                return e;
            }
            return damaged(key, e);
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (IOException e) {
                throw translated(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (IOException e) {
                throw translated(e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return in.skip(n);
            } catch (IOException e) {
                throw translated(e);
            }
        }
    }

    /** A read-only channel over a stored object, one ranged read per call: Tink reads a segment at a time. */
    private static final class Ranged implements SeekableByteChannel {
        private final Storage store;
        private final String key;
        private final long size;
        private long position;
        private boolean open = true;

        Ranged(Storage store, String key, long size) {
            this.store = store;
            this.key = key;
            this.size = size;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (position >= size) {
                return -1;
            }
            int want = (int) Math.min(dst.remaining(), size - position);
            byte[] buf = new byte[want];
            int got = 0;
            try (InputStream in = store.get(key, position, want)) {
                while (got < want) {
                    int n = in.read(buf, got, want - got);
                    if (n < 0) {
                        break;
                    }
                    got += n;
                }
            } catch (IOException e) {
                throw new StoreIo(e);
            }
            if (got == 0) {
                return -1;
            }
            dst.put(buf, 0, got);
            position += got;
            return got;
        }

        @Override
        public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override
        public long position() {
            return position;
        }

        @Override
        public SeekableByteChannel position(long p) {
            position = p;
            return this;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public SeekableByteChannel truncate(long s) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }
    }
}
