package org.pgstrata.storage.s3;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

/**
 * A real S3-compatible server (s3proxy) on 127.0.0.1 for tests: objects in a directory
 * (filesystem-nio2, so they survive {@link #stop()} and {@link #start()}) or in memory
 * (transient-nio2). It checks AWS signatures against fixed test credentials, which this JVM's
 * SDK finds through the default chain (system properties) and child processes through
 * {@link #environment()}.
 */
public final class S3Server implements AutoCloseable {
    public static final String ACCESS_KEY = "pgstrata-test";
    public static final String SECRET_KEY = "pgstrata-test-secret";
    public static final String REGION = "us-east-1";

    static {
        System.setProperty("aws.accessKeyId", ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", SECRET_KEY);
    }

    private final Path directory;
    private final int port;
    private final boolean conditionalWrites;
    private BlobStore store;
    private S3Proxy proxy;
    /** {@link #cutReads}: for each of the next large objects' GETs, the bytes of its body sent before the connection is cut. */
    private final java.util.Deque<Long> cuts = new java.util.ArrayDeque<>();
    /**
     * The part of a key that a GET must contain to be cut (null: any), then the end of the keys
     * whose PUTs fail ({@link #refusePutsOf}, null: none), then a part of the keys whose PUTs fail
     * ({@link #refusePutsContaining}, null: none); guarded by {@link #cuts}.
     */
    private final String[] cutOnly = new String[3];

    private S3Server(Path directory, int port) {
        this(directory, port, true);
    }

    private S3Server(Path directory, int port, boolean conditionalWrites) {
        this.directory = directory;
        this.port = port;
        this.conditionalWrites = conditionalWrites;
    }

    /** A server keeping its objects under {@code directory}. */
    public static S3Server onDisk(Path directory) throws Exception {
        Files.createDirectories(directory);
        S3Server s = new S3Server(directory, org.pgstrata.db.LocalCluster.freePort());
        s.start();
        return s;
    }

    /** A server keeping its objects in memory. */
    public static S3Server inMemory() throws Exception {
        S3Server s = new S3Server(null, org.pgstrata.db.LocalCluster.freePort());
        s.start();
        return s;
    }

    /**
     * A server keeping its objects in memory that, like s3proxy before 2.9 and some other
     * S3-compatible stores, ignores If-None-Match and If-Match on writes: it overwrites.
     */
    public static S3Server inMemoryWithoutConditionalWrites() throws Exception {
        S3Server s = new S3Server(null, org.pgstrata.db.LocalCluster.freePort(), false);
        s.start();
        return s;
    }

    /** Starts (again, on the same port and with the same objects, after {@link #stop()}). */
    public synchronized void start() throws Exception {
        if (proxy != null) {
            return;
        }
        if (store == null) {
            store = directory != null ? new FilesystemNio2BlobStore(directory.toString()) : new TransientNio2BlobStore();
            if (!conditionalWrites) {
                store = new UnconditionalWrites(store);
            }
            store = new CuttingReads(store, cuts, cutOnly);
        }
        proxy = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .ignoreUnknownHeaders(true).build();
        proxy.start();
        for (int i = 0; i < 200 && !proxy.getState().equals("STARTED"); i++) {
            Thread.sleep(25);
        }
    }

    /**
     * Stops serving: the port refuses connections and requests in flight are cut. The store
     * behind it stays as it is, as a server's disk does, for {@link #start()} to serve again.
     */
    public synchronized void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
            proxy = null;
        }
    }

    /**
     * The next GET of an object longer than {@code bytes} sends that many bytes of its body and
     * then drops the connection, as a store or a network does now and then mid-download.
     */
    public void cutNextRead(long bytes) {
        cutReads(bytes < 0 ? new long[0] : new long[] {bytes});
    }

    /** As {@link #cutNextRead}, for the next {@code times} GETs of an object longer than {@code bytes} (resumed reads included). */
    public void cutNextReads(long bytes, int times) {
        long[] each = new long[Math.max(times, 0)];
        java.util.Arrays.fill(each, bytes);
        cutReads(each);
    }

    /**
     * The next GETs of objects longer than the next number given each send that many bytes and
     * are then cut, in turn. A cut at byte 0 (or within the server's response buffer) fails the
     * request itself: the store answers 500.
     */
    public void cutReads(long... bytes) {
        cutReadsOf(null, bytes);
    }

    /** {@link #cutReads}, counting only GETs of keys that contain {@code keyPart} (null: any key). */
    public void cutReadsOf(String keyPart, long... bytes) {
        synchronized (cuts) {
            cutOnly[0] = keyPart;
            cuts.clear();
            for (long b : bytes) {
                cuts.add(b);
            }
        }
    }

    /**
     * Every PUT of a key ending with {@code keyEnd} fails (the store answers 500) until called
     * again with null, as a store that cannot take a write (full, failing) does.
     */
    public void refusePutsOf(String keyEnd) {
        synchronized (cuts) {
            cutOnly[1] = keyEnd;
        }
    }

    /** As {@link #refusePutsOf}, for every key that contains {@code keyPart} (null: none). */
    public void refusePutsContaining(String keyPart) {
        synchronized (cuts) {
            cutOnly[2] = keyPart;
        }
    }

    /** Whether a cut {@link #cutReads} armed has not happened yet. */
    public boolean readCutPending() {
        synchronized (cuts) {
            return !cuts.isEmpty();
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public void createBucket(String bucket) {
        store.createContainer(bucket, org.gaul.s3proxy.blobstore.options.CreateContainerOptions.NONE);
    }

    /** The repository location of {@code s3://bucket/prefix} on this server, options included. */
    public String location(String bucket, String prefix) {
        return new S3Location(bucket, prefix, endpoint(), REGION, true).toString();
    }

    /** The command line's arguments for that repository. */
    public java.util.List<String> arguments(String bucket, String prefix) {
        return new S3Location(bucket, prefix, endpoint(), REGION, true).arguments();
    }

    /** What a child process (pgstrata, or PostgreSQL running archive_command) needs to reach this server. */
    public static Map<String, String> environment() {
        return Map.of("AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SECRET_KEY, "AWS_REGION", REGION);
    }

    @Override
    public synchronized void close() throws Exception {
        stop();
        if (store != null) {
            store.close();
            store = null;
        }
    }

    /** Drops the conditions of every write, as a store without conditional writes does. */
    private static final class UnconditionalWrites extends org.gaul.s3proxy.blobstore.ForwardingBlobStore {
        UnconditionalWrites(BlobStore delegate) {
            super(delegate);
        }

        @Override
        public String putBlob(String container, org.gaul.s3proxy.blobstore.domain.Blob blob,
                              org.gaul.s3proxy.blobstore.options.PutOptions options) {
            return super.putBlob(container, blob, options.toBuilder().ifMatch(null).ifNoneMatch(null).build());
        }
    }

    /**
     * Cuts the body of one read when {@link #cutNextRead} armed it: the server fails mid-response,
     * with the full length announced; fails the writes {@link #refusePutsOf} names.
     */
    private static final class CuttingReads extends org.gaul.s3proxy.blobstore.ForwardingBlobStore {
        private final java.util.Deque<Long> cuts;
        private final String[] only;

        CuttingReads(BlobStore delegate, java.util.Deque<Long> cuts, String[] only) {
            super(delegate);
            this.cuts = cuts;
            this.only = only;
        }

        @Override
        public String putBlob(String container, org.gaul.s3proxy.blobstore.domain.Blob blob,
                              org.gaul.s3proxy.blobstore.options.PutOptions options) {
            synchronized (cuts) {
                if (only[1] != null && blob.getMetadata().name().endsWith(only[1])) {
                    throw new IllegalStateException("the test refuses writes of *" + only[1]);
                }
                if (only[2] != null && blob.getMetadata().name().contains(only[2])) {
                    throw new IllegalStateException("the test refuses writes of *" + only[2] + "*");
                }
            }
            return super.putBlob(container, blob, options);
        }

        @Override
        public org.gaul.s3proxy.blobstore.domain.Blob getBlob(String container, String name,
                                                             org.gaul.s3proxy.blobstore.options.GetOptions options) {
            org.gaul.s3proxy.blobstore.domain.Blob blob = super.getBlob(container, name, options);
            Long size = blob == null ? null : blob.getMetadata().size();
            long after;
            synchronized (cuts) {
                Long next = cuts.peek();
                if (next == null || size == null || size <= next || (only[0] != null && !name.contains(only[0]))) {
                    return blob;
                }
                after = cuts.poll();
            }
            java.io.InputStream whole = blob.getPayload();
            return blob.toBuilder().payload(new java.io.FilterInputStream(whole) {
                private long sent;

                @Override
                public int read() throws java.io.IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws java.io.IOException {
                    if (sent >= after) {
                        throw new java.io.IOException("connection cut by the test");
                    }
                    int n = super.read(b, off, (int) Math.min(len, after - sent));
                    sent += Math.max(n, 0);
                    return n;
                }
            }).build();
        }
    }
}
