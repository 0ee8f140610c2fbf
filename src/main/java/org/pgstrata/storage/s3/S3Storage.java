package org.pgstrata.storage.s3;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLSocket;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.pgstrata.api.TestHooks;
import org.pgstrata.api.Verbose;
import org.pgstrata.storage.LockLostException;
import org.pgstrata.storage.LockedException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.AwsProfileRegionProvider;
import software.amazon.awssdk.regions.providers.AwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.InstanceProfileRegionProvider;
import software.amazon.awssdk.regions.providers.SystemSettingsRegionProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket (AWS S3, or a compatible store such as MinIO, Ceph RGW or s3proxy).
 *
 * <p>S3 has no rename and no directories, and a PUT is atomic: an object is either there whole or
 * not at all. A small object goes up in one PUT when it is committed; a large one as a multipart
 * upload whose parts grow with the object ({@link #partSize(int)}), completed on commit. An
 * upload that is cut short is never listed; {@link #deleteTemporary} and {@link #deletePrefix}
 * abort what is left of it. The repository lock is a lease object, described at {@link #lock}.
 */
public final class S3Storage implements Storage {
    /**
     * Loads what requests need (the client, its endpoint rules, signing, each operation's request
     * and response classes with their field lambdas, XML parsing), without retries or a
     * credentials lookup: for the launcher's class data sharing archive, so that every S3 command
     * starts faster. A request to a port that refuses at once loads the failure path; the
     * operations pgstrata uses, answered by a canned {@link WarmUpServer} on loopback, the rest.
     * Loading those at run time was about half of what an S3 command spent before its work.
     */
    public static void warmUp() {
        var credentials = software.amazon.awssdk.auth.credentials.StaticCredentialsProvider
                .create(software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("warmup", "warmup"));
        S3Location nowhere = new S3Location("warmup", "x", "http://127.0.0.1:1", "us-east-1", true);
        try (S3Storage s = new S3Storage(nowhere, MIN_PART_SIZE, 1, credentials)) {
            s.getBytes("x");
        } catch (IOException | RuntimeException expected) {
            // refused, as intended
        }
        try (WarmUpServer server = new WarmUpServer();
             S3Storage s = new S3Storage(new S3Location("warmup", "x", server.endpoint(), "us-east-1", true), MIN_PART_SIZE, 1, credentials)) {
            s.prepare();
            s.exists("a");
            s.exists("missing");
            s.getBytes("a");
            s.get("a", 0, 2).close();
            s.putBytes("a", new byte[] {1});
            s.putBytesIfAbsent("a", new byte[] {1});
            try (ObjectWriter w = s.create("b")) {
                w.stream().write(new byte[(int) MIN_PART_SIZE + 1]);
                w.commit();
            }
            s.list("");
            s.unfinishedWrites("");
            s.deletePrefix("");
            s.delete("a");
            s.readLock();
        } catch (IOException | RuntimeException e) {
            // only a warm-up: whatever it loaded is loaded
        }
        DefaultCredentialsProvider.builder().build();
    }

    /**
     * The client's pooled connections: one for each of up to 256 jobs (the most --jobs takes),
     * {@link #LAYER_READS} for the layers that rebuilds hold open, and 64 for requests sent side
     * by side (manifests, size checks). A connection is made when first needed. The pool held 64,
     * and a restore of a chain of 33 incrementals with two jobs waited for connections that its
     * own two rebuilds held until it failed.
     */
    static final int MAX_CONNECTIONS = 512;
    /** The reads that rebuilds may hold at once ({@link #holdReads}). */
    static final int LAYER_READS = MAX_CONNECTIONS - 256 - 64;

    /** S3's smallest part (but the last) and its largest part count. */
    public static final long MIN_PART_SIZE = 5L << 20;
    public static final int MAX_PARTS = 10_000;
    static final long MAX_PART_SIZE = 5L << 30;
    /**
     * A lock (a lease) is stale, and may be taken over, when it was not renewed for this long; its
     * holder renews it every quarter of it. Tests shorten it ({@link TestHooks#s3LeaseTtl()}).
     */
    static final Duration LOCK_TTL = Duration.ofSeconds(60);
    /**
     * How long a connection may stay silent (no byte read) before the attempt fails and is
     * retried: inactivity, not the request's whole time, so a large upload or download is never
     * cut while bytes flow. As pgBackRest's io-timeout; tests shorten it ({@link TestHooks#s3SocketTimeout()}).
     */
    static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(60);
    private static final String LOCK_KEY = "lock";
    /** Tokens of the locks this process holds now: its own released-but-not-deleted lock is stale. */
    private static final Set<String> LIVE_TOKENS = ConcurrentHashMap.newKeySet();

    private final S3Location location;
    private final S3Client client;
    private final long firstPartSize;
    private final Duration leaseTtl;
    /** {@link #LAYER_READS}, or half the pool a test made smaller; fair, so that a rebuild waiting for many is not passed over forever. */
    private final java.util.concurrent.Semaphore layerReads = new java.util.concurrent.Semaphore(
            TestHooks.s3Connections().map(n -> Math.max(1, n / 2)).orElse(LAYER_READS), true);
    private final int layerReadsAtOnce = layerReads.availablePermits();

    public S3Storage(S3Location location) {
        this(location, TestHooks.s3LeaseTtl().orElse(LOCK_TTL));
    }

    /** With the lock's time to live (see {@link #lock}). */
    public S3Storage(S3Location location, Duration leaseTtl) {
        this(location, 8L << 20, 8, DefaultCredentialsProvider.builder().build(), leaseTtl);
    }

    /**
     * With the first part's size (at least {@link #MIN_PART_SIZE}; later parts grow from it), the
     * attempts per request, and where credentials come from.
     */
    public S3Storage(S3Location location, long firstPartSize, int maxAttempts, AwsCredentialsProvider credentials) {
        this(location, firstPartSize, maxAttempts, credentials, LOCK_TTL);
    }

    private S3Storage(S3Location location, long firstPartSize, int maxAttempts, AwsCredentialsProvider credentials, Duration leaseTtl) {
        if (firstPartSize < MIN_PART_SIZE) {
            throw new IllegalArgumentException("the first part size must be at least 5 MiB");
        }
        this.location = location;
        this.firstPartSize = firstPartSize;
        this.leaseTtl = leaseTtl;
        var builder = S3Client.builder()
                .credentialsProvider(credentials)
                .region(region(location))
                .forcePathStyle(location.pathStyle())
                // pgstrata checksums every object itself; S3-compatible stores differ in the SDK's newer checksum headers.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                // Bodies go unsigned over http as over https: pgstrata's own checksums catch what signing them would.
                .putAuthScheme(new UnsignedPayloads())
                .httpClientBuilder(httpClient(location))
                .overrideConfiguration(o -> o.retryStrategy(new LoggingRetryStrategy(
                        AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(maxAttempts).circuitBreakerEnabled(false).build(),
                        location.describe() + (location.endpointUri() != null ? " (endpoint " + location.endpointUri() + ")" : ""))));
        if (location.endpointUri() != null) {
            builder.endpointOverride(location.endpointUri());
        }
        this.client = builder.build();
    }

    private static Apache5HttpClient.Builder httpClient(S3Location location) {
        var http = Apache5HttpClient.builder().maxConnections(TestHooks.s3Connections().orElse(MAX_CONNECTIONS))
                .connectionTimeout(Duration.ofSeconds(10)).socketTimeout(TestHooks.s3SocketTimeout().orElse(SOCKET_TIMEOUT));
        if (location.endpointUri() != null && "http".equalsIgnoreCase(location.endpointUri().getScheme())) {
            http.tlsSocketStrategy(new LazyTls());
        }
        return http;
    }

    /**
     * TLS set up when a connection first asks for it, which none to an http endpoint does; the
     * client otherwise builds its TLS context when it starts, and loading the JDK's trust store
     * for it was a good part of every S3 command's start.
     */
    private static final class LazyTls implements TlsSocketStrategy {
        private TlsSocketStrategy tls;

        @Override
        public SSLSocket upgrade(Socket socket, String target, int port, Object attachment, HttpContext context) throws IOException {
            TlsSocketStrategy t;
            synchronized (this) {
                if (tls == null) {
                    tls = DefaultClientTlsStrategy.createSystemDefault();
                }
                t = tls;
            }
            return t.upgrade(socket, target, port, attachment, context);
        }
    }

    /**
     * --s3-region; else AWS_REGION (or aws.region) or the profile's; else, with an endpoint,
     * us-east-1 (an S3-compatible server that does not care); else the EC2 instance metadata
     * service. That last one only for AWS itself: off EC2 it costs seconds of waiting per command.
     */
    private static Region region(S3Location location) {
        if (location.region() != null) {
            return Region.of(location.region());
        }
        try {
            return new AwsRegionProviderChain(new SystemSettingsRegionProvider(), new AwsProfileRegionProvider()).getRegion();
        } catch (SdkException e) {
            // none configured
        }
        if (location.endpoint() != null) {
            return Region.US_EAST_1;
        }
        try {
            return new InstanceProfileRegionProvider().getRegion();
        } catch (SdkException e) {
            throw new IllegalArgumentException("no region for " + location.describe() + ": pass --s3-region or set AWS_REGION");
        }
    }

    /**
     * The size of part {@code n} (1-based): the first part size, doubled every 1,000 parts, at most
     * 5 GiB. From 8 MiB, 1 TiB takes 7,032 parts, and 10,000 parts hold more than 5 TiB (S3's
     * largest object). Each writer holds at most two parts in memory: one filling, one going up.
     */
    public static long partSize(long first, int n) {
        int doublings = Math.min((n - 1) / 1000, 30);
        return Math.min(first << doublings, MAX_PART_SIZE);
    }

    public S3Location s3Location() {
        return location;
    }

    private String key(String repositoryKey) {
        return location.key(Storage.checkedKey(repositoryKey));
    }

    @Override
    public ObjectWriter create(String key) {
        return new Upload(key(key));
    }

    /**
     * Part buffers that committed writers gave back, for the next writers: a buffer grows from
     * 64 KiB to the part size by doubling, so each new writer of a large object allocated about
     * twice its part size again (57 MB of a 40 MB backup's allocations, enough to make the young
     * generation collect twice, 0.1 s of pauses). At most four are kept (32 MiB of 8 MiB parts).
     */
    private final java.util.concurrent.BlockingQueue<byte[]> spareParts = new java.util.concurrent.ArrayBlockingQueue<>(4);

    private byte[] partBuffer() {
        byte[] b = spareParts.poll();
        return b != null ? b : new byte[64 * 1024];
    }

    /**
     * The first {@code n} bytes of {@code b} as a request body, read from the array itself: the
     * SDK's fromByteBuffer and fromBytes copy it first (8 MiB per part, which the young
     * generation then copied again; three collections, 0.17 s of pauses per 40 MB backup). The
     * caller leaves the array alone until the request has ended.
     */
    private static RequestBody body(byte[] b, int n) {
        return RequestBody.fromContentProvider(() -> new ByteArrayInputStream(b, 0, n), n, "application/octet-stream");
    }

    /** Keeps {@code b} for a later writer if it is worth it and there is room; no request may still read it. */
    private void giveBack(byte[] b) {
        if (b != null && b.length >= MIN_PART_SIZE) {
            spareParts.offer(b);
        }
    }

    /**
     * Uploads parts of large objects, one at a time per writer, so that a writer fills its next
     * part while the last one is on its way. Daemon threads: a process that ends abandons what
     * it did not commit, as a killed one does.
     */
    private final java.util.concurrent.ExecutorService partUploads = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pgstrata-s3-part");
        t.setDaemon(true);
        return t;
    });

    /**
     * Buffers a part; the first full part starts a multipart upload, commit completes it (or PUTs a
     * small object whole). A full part goes up in the background while the next one fills: a
     * writer holds at most two parts in memory, and waits for the one in flight before it sends
     * another, so parts go up in order and an upload's failure is thrown by the next write or by
     * commit.
     */
    private final class Upload extends OutputStream implements ObjectWriter {
        private final String objectKey;
        private byte[] buf = partBuffer();
        private int len;
        private long total;
        private String uploadId;
        private final List<CompletedPart> parts = new ArrayList<>();
        /** The part on its way, and its buffer (filled again once it is up). */
        private java.util.concurrent.Future<CompletedPart> inFlight;
        private byte[] spare;
        private boolean committed;
        private boolean closed;

        Upload(String objectKey) {
            this.objectKey = objectKey;
        }

        @Override
        public OutputStream stream() {
            return this;
        }

        private long currentPartSize() {
            return partSize(firstPartSize, parts.size() + (inFlight != null ? 2 : 1));
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int n) throws IOException {
            while (n > 0) {
                long room = currentPartSize() - len;
                int take = (int) Math.min(room, n);
                ensureCapacity(len + take);
                System.arraycopy(b, off, buf, len, take);
                len += take;
                total += take;
                off += take;
                n -= take;
                if (len == currentPartSize()) {
                    sendPart();
                }
            }
        }

        private void ensureCapacity(int needed) {
            if (needed > buf.length) {
                long grown = Math.max(needed, Math.min((long) buf.length * 2, currentPartSize()));
                buf = Arrays.copyOf(buf, (int) grown);
            }
        }

        /** Sends the buffered part in the background, after the one before it is up; the next part fills the other buffer. */
        private void sendPart() throws IOException {
            awaitPart();
            if (uploadId == null) {
                try {
                    uploadId = client.createMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey)
                            .contentType("application/octet-stream")).uploadId();
                } catch (SdkException e) {
                    throw S3Errors.io("starting the upload of " + url(objectKey), location, e);
                }
            }
            int number = parts.size() + 1;
            byte[] body = buf;
            int n = len;
            String id = uploadId;
            inFlight = partUploads.submit(() -> {
                try {
                    String etag = client.uploadPart(r -> r.bucket(location.bucket()).key(objectKey).uploadId(id).partNumber(number)
                            .contentLength((long) n), body(body, n)).eTag();
                    return CompletedPart.builder().partNumber(number).eTag(etag).build();
                } catch (SdkException e) {
                    throw S3Errors.io("uploading part " + number + " of " + url(objectKey), location, e);
                }
            });
            buf = spare != null ? spare : partBuffer();
            spare = body;
            len = 0;
        }

        /** Waits for the part on its way, if any, and records it; rethrows its failure. */
        private void awaitPart() throws IOException {
            if (inFlight == null) {
                return;
            }
            try {
                parts.add(inFlight.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while part " + (parts.size() + 1) + " of " + url(objectKey) + " went up");
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IOException("uploading part " + (parts.size() + 1) + " of " + url(objectKey), e.getCause());
            } finally {
                inFlight = null;
            }
        }

        /** The last part (or the only one, of an empty object), then every part up. */
        private void finishParts() throws IOException {
            if (len > 0 || (parts.isEmpty() && inFlight == null)) {
                sendPart();
            }
            awaitPart();
        }

        @Override
        public long commit() throws IOException {
            try {
                if (uploadId == null) {
                    client.putObject(r -> r.bucket(location.bucket()).key(objectKey).contentType("application/octet-stream")
                            .contentLength((long) len), body(buf, len));
                } else {
                    finishParts();
                    client.completeMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId)
                            .multipartUpload(m -> m.parts(parts)));
                }
            } catch (SdkException e) {
                throw S3Errors.io("writing " + url(objectKey), location, e);
            }
            committed = true;
            releaseBuffers();
            return total;
        }

        /**
         * PutObject, or CompleteMultipartUpload, with {@code If-None-Match: *}: the store refuses
         * with 412 when the key exists. A 409 (ConditionalRequestConflict) says a conflicting write
         * was in flight: a single PUT is sent again (its bytes are still here) and then meets the
         * winner's 412; a multipart upload would have to be uploaded again from the start, so it
         * fails, and the caller's retry (PostgreSQL retries archive_command) finds the object.
         */
        @Override
        public boolean commitIfAbsent() throws IOException {
            try {
                if (uploadId == null) {
                    for (int attempt = 1; ; attempt++) {
                        try {
                            client.putObject(r -> r.bucket(location.bucket()).key(objectKey).contentType("application/octet-stream")
                                    .contentLength((long) len).ifNoneMatch("*"), body(buf, len));
                            break;
                        } catch (S3Exception e) {
                            if (e.statusCode() == 412) {
                                return false;
                            }
                            if (e.statusCode() != 409 || attempt >= 5) {
                                throw e;
                            }
                        }
                    }
                } else {
                    finishParts();
                    try {
                        client.completeMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId)
                                .multipartUpload(m -> m.parts(parts)).ifNoneMatch("*"));
                    } catch (S3Exception e) {
                        if (e.statusCode() == 412) {
                            return false; // close() aborts the upload
                        }
                        throw e;
                    }
                }
            } catch (SdkException e) {
                throw S3Errors.io("writing " + url(objectKey) + " (only if absent)", location, e);
            }
            committed = true;
            releaseBuffers();
            return true;
        }

        /** After every request of this writer has ended: its buffers go to the next writers. */
        private void releaseBuffers() {
            giveBack(buf);
            giveBack(spare);
            buf = null;
            spare = null;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            buf = null;
            spare = null;
            if (inFlight != null) {
                try {
                    awaitPart(); // an abort while a part is still going up may leave that part behind
                } catch (IOException | RuntimeException e) {
                    // aborted below all the same
                }
            }
            if (!committed && uploadId != null) {
                try {
                    client.abortMultipartUpload(r -> r.bucket(location.bucket()).key(objectKey).uploadId(uploadId));
                } catch (SdkException e) {
                    // left for deleteTemporary, and for the bucket's lifecycle rule if it has one
                    Verbose.log("could not abort the upload of " + objectKey + ": " + S3Errors.brief(e));
                }
            }
        }
    }

    @Override
    public InputStream get(String key) throws IOException {
        String k = key(key);
        try {
            ResponseInputStream<GetObjectResponse> first = notAWebPage(k, client.getObject(r -> r.bucket(location.bucket()).key(k)));
            Long length = first.response().contentLength();
            return new ResumingRead(url(k), first, (from, eTag) -> rest(k, from, length == null ? -1 : length - 1, eTag));
        } catch (NoSuchKeyException e) {
            throw new ObjectNotFoundException(key, describe());
        } catch (SdkException e) {
            throw S3Errors.readFailed("reading " + url(k), location, e);
        }
    }

    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
        String k = key(key);
        if (length <= 0) {
            size(key); // still says when the object is missing
            return new ByteArrayInputStream(new byte[0]);
        }
        try {
            ResponseInputStream<GetObjectResponse> first = notAWebPage(k,
                    client.getObject(r -> r.bucket(location.bucket()).key(k).range("bytes=" + offset + "-" + (offset + length - 1))));
            return new ResumingRead(url(k), first, (from, eTag) -> rest(k, offset + from, offset + length - 1, eTag));
        } catch (NoSuchKeyException e) {
            throw new ObjectNotFoundException(key, describe());
        } catch (S3Exception e) {
            if (e.statusCode() == 416) { // the range starts at or past the end
                return new ByteArrayInputStream(new byte[0]);
            }
            throw S3Errors.readFailed("reading " + url(k), location, e);
        } catch (SdkException e) {
            throw S3Errors.readFailed("reading " + url(k), location, e);
        }
    }

    /**
     * The response, unless it is an HTML page: pgstrata stores every object as
     * application/octet-stream, and a web server that is not S3 (an --s3-endpoint pointing at a
     * site or a proxy's login page) answers every GET with a page and 200. Read as the object,
     * the page made every command call the repository damaged, and wal get the archived WAL.
     */
    private ResponseInputStream<GetObjectResponse> notAWebPage(String k, ResponseInputStream<GetObjectResponse> in)
            throws IOException {
        String type = in.response().contentType();
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("text/html")) {
            return in;
        }
        in.abort();
        throw new org.pgstrata.storage.StoreReadException("reading " + url(k) + " failed: the endpoint"
                + (location.endpoint() != null ? " " + location.endpoint() : "")
                + " answered with an HTML page, not an S3 object; check that --s3-endpoint names an S3 server", null);
    }

    /**
     * Bytes {@code from} to {@code last} (inclusive; -1: to the end) of the object, if it is still
     * the version with {@code eTag}: the rest of a read that a connection cut ({@link ResumingRead}).
     */
    private ResponseInputStream<GetObjectResponse> rest(String k, long from, long last, String eTag) throws IOException {
        if (last >= 0 && from > last) {
            return new ResponseInputStream<>(GetObjectResponse.builder().contentLength(0L).eTag(eTag).build(),
                    AbortableInputStream.create(new ByteArrayInputStream(new byte[0])));
        }
        try {
            return client.getObject(r -> r.bucket(location.bucket()).key(k).ifMatch(eTag)
                    .range("bytes=" + from + "-" + (last < 0 ? "" : Long.toString(last))));
        } catch (NoSuchKeyException e) {
            throw new IOException(url(k) + " was removed while it was read", e);
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                throw new IOException(url(k) + " was replaced while it was read", e);
            }
            if (e.statusCode() == 416) { // nothing left past the end
                return rest(k, 1, 0, eTag);
            }
            throw S3Errors.readFailed("reading " + url(k), location, e);
        } catch (SdkException e) {
            throw S3Errors.readFailed("reading " + url(k), location, e);
        }
    }

    @Override
    public long size(String key) throws IOException {
        return head(key).contentLength();
    }

    private HeadObjectResponse head(String key) throws IOException {
        String k = key(key);
        try {
            return client.headObject(r -> r.bucket(location.bucket()).key(k));
        } catch (NoSuchKeyException e) {
            throw new ObjectNotFoundException(key, describe());
        } catch (S3Exception e) {
            if (e.statusCode() == 404 && !(e instanceof NoSuchBucketException)) {
                throw new ObjectNotFoundException(key, describe());
            }
            throw S3Errors.io("reading " + url(k), location, e);
        } catch (SdkException e) {
            throw S3Errors.io("reading " + url(k), location, e);
        }
    }

    @Override
    public java.util.Optional<byte[]> getBytesIfPresent(String key) throws IOException {
        try {
            return java.util.Optional.of(getBytes(key));
        } catch (ObjectNotFoundException e) {
            return java.util.Optional.empty();
        } catch (IOException e) {
            if (e.getCause() instanceof NoSuchBucketException) {
                return java.util.Optional.empty(); // as exists() says of a key in a bucket not yet made
            }
            throw e;
        }
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            head(key);
            return true;
        } catch (ObjectNotFoundException e) {
            return false;
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        for (S3Object o : objects(prefix)) {
            keys.add(location.repositoryKey(o.key()));
        }
        keys.sort(null);
        return keys;
    }

    /** One listing with a delimiter: the names directly under the repository's prefix and its first-level "directories". */
    @Override
    public List<String> topLevelNames() throws IOException {
        String p = location.prefix().isEmpty() ? "" : location.prefix() + "/";
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        try {
            for (var page : client.listObjectsV2Paginator(r -> r.bucket(location.bucket()).prefix(p).delimiter("/"))) {
                page.commonPrefixes().forEach(c -> names.add(c.prefix().substring(p.length(), c.prefix().length() - 1)));
                page.contents().forEach(o -> names.add(o.key().substring(p.length())));
            }
        } catch (NoSuchBucketException e) {
            return List.of(); // no bucket, no objects
        } catch (SdkException e) {
            throw S3Errors.io("listing " + url(p), location, e);
        }
        return new ArrayList<>(names);
    }

    /** {@link #LAYER_READS}: each read a rebuild holds open keeps one pooled connection. */
    @Override
    public int readsAtOnce() {
        return layerReadsAtOnce;
    }

    @Override
    public HeldReads holdReads(int n) {
        if (n > layerReadsAtOnce) {
            throw new IllegalArgumentException(n + " reads at once, more than the " + layerReadsAtOnce + " this store allows");
        }
        if (n <= 0) {
            return () -> { };
        }
        layerReads.acquireUninterruptibly(n);
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                layerReads.release(n);
            }
        };
    }

    /** From the listing itself, without a request per object. */
    @Override
    public long totalBytes(String prefix) throws IOException {
        long sum = 0;
        for (S3Object o : objects(prefix)) {
            sum += o.size();
        }
        return sum;
    }

    @Override
    public java.util.Optional<java.util.Map<String, Long>> listedSizes(String prefix) throws IOException {
        java.util.Map<String, Long> sizes = new java.util.HashMap<>();
        for (S3Object o : objects(prefix)) {
            sizes.put(location.repositoryKey(o.key()), o.size());
        }
        return java.util.Optional.of(sizes);
    }

    private List<S3Object> objects(String prefix) throws IOException {
        String p = location.prefix().isEmpty() ? prefix : location.prefix() + "/" + prefix;
        List<S3Object> objects = new ArrayList<>();
        try {
            for (S3Object o : client.listObjectsV2Paginator(r -> r.bucket(location.bucket()).prefix(p)).contents()) {
                objects.add(o);
            }
        } catch (NoSuchBucketException e) {
            return objects; // no bucket, no objects
        } catch (SdkException e) {
            throw S3Errors.io("listing " + url(p), location, e);
        }
        return objects;
    }

    @Override
    public void delete(String key) throws IOException {
        String k = key(key);
        try {
            client.deleteObject(r -> r.bucket(location.bucket()).key(k));
        } catch (NoSuchKeyException e) {
            // gone already
        } catch (SdkException e) {
            throw S3Errors.io("deleting " + url(k), location, e);
        }
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        List<String> keys = list(prefix);
        for (int i = 0; i < keys.size(); i += 1000) {
            List<ObjectIdentifier> batch = keys.subList(i, Math.min(keys.size(), i + 1000)).stream()
                    .map(k -> ObjectIdentifier.builder().key(location.key(k)).build()).toList();
            try {
                var response = client.deleteObjects(r -> r.bucket(location.bucket()).delete(d -> d.objects(batch).quiet(true)));
                if (response.hasErrors() && !response.errors().isEmpty()) {
                    var first = response.errors().get(0);
                    throw new IOException("deleting " + first.key() + " in " + describe() + " failed: " + first.code() + " " + first.message());
                }
            } catch (SdkException e) {
                throw S3Errors.io("deleting objects under " + url(location.key(prefix)), location, e);
            }
        }
        deleteTemporary(prefix);
    }

    /** Aborts the multipart uploads that writers which were cut short left under {@code prefix}. */
    @Override
    public void deleteTemporary(String prefix, java.time.Instant before, IoAction beforeDeleting) throws IOException {
        List<MultipartUpload> unfinished = unfinishedUploads(prefix).stream()
                .filter(u -> before == null || u.initiated() != null && u.initiated().isBefore(before)).toList();
        if (!unfinished.isEmpty()) {
            beforeDeleting.run();
        }
        for (MultipartUpload u : unfinished) {
            try {
                client.abortMultipartUpload(r -> r.bucket(location.bucket()).key(u.key()).uploadId(u.uploadId()));
            } catch (NoSuchKeyException e) {
                // finished or aborted meanwhile
            } catch (SdkException e) {
                throw S3Errors.io("aborting the unfinished upload of " + url(u.key()), location, e);
            }
        }
    }

    @Override
    public List<String> unfinishedWrites(String prefix) throws IOException {
        return unfinishedUploads(prefix).stream().map(u -> location.repositoryKey(u.key())).sorted().toList();
    }

    private List<MultipartUpload> unfinishedUploads(String prefix) throws IOException {
        String p = location.prefix().isEmpty() ? prefix : location.prefix() + "/" + prefix;
        List<MultipartUpload> uploads = new ArrayList<>();
        try {
            for (MultipartUpload u : client.listMultipartUploadsPaginator(r -> r.bucket(location.bucket()).prefix(p)).uploads()) {
                uploads.add(u);
            }
        } catch (NoSuchBucketException e) {
            return uploads;
        } catch (SdkException e) {
            throw S3Errors.io("listing unfinished uploads under " + url(p), location, e);
        }
        return uploads;
    }

    /** Creates the bucket when it does not exist. */
    @Override
    public boolean prepare() throws IOException {
        try {
            client.headBucket(r -> r.bucket(location.bucket()));
            return false;
        } catch (NoSuchBucketException e) {
            // create it below
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw S3Errors.io("checking the bucket s3://" + location.bucket(), location, e);
            }
        } catch (SdkException e) {
            throw S3Errors.io("checking the bucket s3://" + location.bucket(), location, e);
        }
        try {
            client.createBucket(r -> r.bucket(location.bucket()));
            return true;
        } catch (SdkException e) {
            throw S3Errors.io("creating the bucket s3://" + location.bucket(), location, e);
        }
    }

    /**
     * The lock is a lease: the object {@code lock} names its holder (host, pid and a random token).
     * It is created with {@code If-None-Match: *}, so that only one of two writers can create it,
     * and read back after a pause (a second guard, kept from before stores had conditional writes).
     * The read-back runs on the lease's own thread, so that the command's work starts at once;
     * {@link RepositoryLock#check()}, which every manifest write and every delete passes first,
     * waits for it, and fails for good when it found another holder's record (or none): nothing
     * that another writer must not interleave with is written on an unconfirmed lease.
     * Its holder renews it every quarter of its time to live with a conditional PUT,
     * {@code If-Match} the ETag of its own last write (each renewal writes a new count, so a new
     * ETag): a 412 means another writer wrote the lock object, a 404 that someone removed it, and
     * either way the lease is lost. A lease is stale, and is taken over, when it was not renewed
     * for its time to live by the server's clock, or when its holder was a process on this host
     * that has ended (or whose pid a process that started at another time has now); a killed writer therefore blocks another host for at most that long.
     *
     * <p>The fence ({@link RepositoryLock#check()}): the holder trusts its lease only until the
     * start of its last successful renewal request plus three quarters of the time to live, by
     * its own monotonic clock. That request reached the server after it started, so the server
     * dates the lease later still; another host can take it over only once the full time to live
     * has passed since then. The quarter between is the margin for a write that passed the check
     * just before the deadline and is still on its way. A takeover makes the check fail as soon
     * as a renewal meets it; a lease that ran out stays lost, even if a late renewal gets through.
     */
    @Override
    public RepositoryLock lock(String holder) throws IOException {
        String host = hostName();
        long pid = ProcessHandle.current().pid();
        String token = UUID.randomUUID().toString();
        String k = key(LOCK_KEY);
        Lease lease = new Lease(holder, host, pid, token);
        byte[] record = lease.record();
        for (int attempt = 1; ; attempt++) {
            LockRecord existing = readLock();
            if (existing != null) {
                if (!existing.stale(host, leaseTtl)) {
                    throw new LockedException(describe(), existing.holder());
                }
                Verbose.log("taking over the stale lock of " + existing.holder() + " in " + describe());
            }
            // A stale lock is replaced only if it is still the version read above (If-Match on its
            // ETag), never deleted and created anew: two writers that both found it stale would
            // otherwise both succeed, the later one deleting the lock the earlier one just took.
            String staleEtag = existing != null ? existing.etag() : null;
            long start = System.nanoTime();
            try {
                String etag = client.putObject(r -> {
                    r.bucket(location.bucket()).key(k);
                    if (staleEtag == null) {
                        r.ifNoneMatch("*");
                    } else {
                        r.ifMatch(staleEtag);
                    }
                }, body(record, record.length)).eTag();
                lease.renewed(start, etag);
                break;
            } catch (S3Exception e) {
                if (e.statusCode() == 404 && staleEtag != null && attempt < 3) {
                    continue; // the stale lock was removed meanwhile: look again
                }
                if (e.statusCode() == 412 || e.statusCode() == 409 || e.statusCode() == 404) {
                    LockRecord winner = readLock();
                    throw new LockedException(describe(), winner != null ? winner.holder() : "another process");
                }
                throw S3Errors.io("taking the lock " + url(key(LOCK_KEY)), location, e);
            } catch (SdkException e) {
                throw S3Errors.io("taking the lock " + url(key(LOCK_KEY)), location, e);
            }
        }
        LIVE_TOKENS.add(token);
        lease.renewer.start(); // reads the lock back after a pause first; check() waits for that
        return lease;
    }

    /** How long after taking the lock it is read back ({@link Lease#confirm()}); tests lengthen it. */
    long readBackPauseMs = 200;

    /** A held lease, its renewer thread and its fence. */
    private final class Lease implements RepositoryLock {
        private final String holder;
        private final String host;
        private final long pid;
        private final String token;
        private final long trustNanos = leaseTtl.toNanos() * 3 / 4;
        private final Thread renewer = new Thread(this::renewUntilLostOrClosed, "pgstrata-s3-lock");
        /** Counted down once the lock was read back ({@link #confirm()}), whatever that found. */
        private final CountDownLatch confirmed = new CountDownLatch(1);
        private int renewals;
        private volatile String etag;
        /** The monotonic time until which the lease is trusted. */
        private volatile long trustedUntil;
        private volatile long lastRenewed;
        /** Why the lease was lost, once it was; never cleared. */
        private volatile String lost;
        private volatile boolean closed;

        Lease(String holder, String host, long pid, String token) {
            this.holder = holder;
            this.host = host;
            this.pid = pid;
            this.token = token;
            renewer.setDaemon(true);
        }

        byte[] record() {
            return ("holder=" + holder + "\nhost=" + host + "\npid=" + pid + "\nspace=" + PROCESS_SPACE + "\nstart-ticks=" + PROCESS_START_TICKS
                    + "\ntoken=" + token + "\nrenewal="
                    + renewals + "\n").getBytes(StandardCharsets.UTF_8);
        }

        /** A write of the lock object that started at {@code start} (monotonic) succeeded with {@code newEtag}. */
        synchronized void renewed(long start, String newEtag) {
            etag = newEtag;
            lastRenewed = start;
            trustedUntil = start + trustNanos;
        }

        private synchronized void lose(String why) {
            if (lost == null) {
                lost = why;
            }
        }

        @Override
        public void check() throws IOException {
            try {
                confirmed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while the lock of " + describe() + " was read back");
            }
            if (lost == null && System.nanoTime() - trustedUntil > 0) {
                lose(expired());
            }
            if (lost != null) {
                throw new LockLostException(lost);
            }
        }

        private String expired() {
            long seconds = Math.round((System.nanoTime() - lastRenewed) / 1e9);
            return "the lock of " + describe() + " was not renewed for " + seconds + " s (the store could not be reached, or this "
                    + "process was stopped), longer than it may be trusted (" + trustNanos / 1_000_000 + " ms of a " + leaseTtl.toMillis()
                    + " ms lease); another command may have taken it over";
        }

        /**
         * Reads the lock back after {@link #readBackPauseMs}: a store that ignores
         * If-None-Match lets a second writer overwrite the lock just taken, and then only one of
         * the two finds its own token. Anything but its own record loses the lease.
         */
        private void confirm() {
            try {
                Thread.sleep(readBackPauseMs);
                LockRecord now = readLock();
                if (now == null || !now.token().equals(token)) {
                    lose(takenOver(now));
                }
            } catch (InterruptedException e) {
                lose("the lock of " + describe() + " was released before it was read back");
            } catch (IOException e) {
                lose("could not read the lock of " + describe() + " back after taking it: " + e.getMessage());
            } finally {
                confirmed.countDown();
            }
        }

        private void renewUntilLostOrClosed() {
            confirm();
            String k = key(LOCK_KEY);
            long every = leaseTtl.toMillis() / 4;
            long wait = Math.max(0, every - readBackPauseMs); // the first renewal as if there had been no read-back
            // Stops on close even if a request swallowed the interrupt; If-Match keeps a late renewal off another holder's lock anyway.
            while (!closed && !Thread.currentThread().isInterrupted() && lost == null) {
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
                wait = every;
                if (System.nanoTime() - trustedUntil > 0) {
                    lose(expired());
                    Verbose.warn(lost);
                    return;
                }
                long start = System.nanoTime();
                try {
                    String match = etag;
                    synchronized (this) {
                        renewals++;
                    }
                    byte[] body = record();
                    String newEtag = client.putObject(r -> r.bucket(location.bucket()).key(k).ifMatch(match), body(body, body.length)).eTag();
                    synchronized (this) {
                        if (System.nanoTime() - trustedUntil > 0) {
                            lose(expired()); // too late: the fence may already have said so
                        } else {
                            renewed(start, newEtag);
                        }
                    }
                } catch (S3Exception e) {
                    if (e.statusCode() == 412 || e.statusCode() == 404) {
                        lose(takenOver());
                        Verbose.warn(lost);
                        return;
                    }
                    Verbose.log("could not renew the lock in " + describe() + ": " + S3Errors.brief(e));
                } catch (SdkException e) {
                    Verbose.log("could not renew the lock in " + describe() + ": " + S3Errors.brief(e));
                }
            }
        }

        private String takenOver() {
            try {
                return takenOver(readLock());
            } catch (IOException e) {
                return "the lock of " + describe() + " was taken over (" + e.getMessage() + ") while this command held it";
            }
        }

        /** {@code now}: the lock object as it is now (null: gone), someone else's. */
        private String takenOver(LockRecord now) {
            return "the lock of " + describe() + " was " + (now == null ? "removed by someone else" : "taken over by " + now.holder())
                    + " while this command held it";
        }

        @Override
        public void close() {
            closed = true;
            renewer.interrupt();
            try {
                renewer.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LIVE_TOKENS.remove(token);
            try {
                LockRecord now = readLock();
                if (now != null && now.token().equals(token)) {
                    delete(LOCK_KEY);
                }
            } catch (IOException e) {
                // the lock goes stale by itself; a process on this host takes it over at once
                Verbose.log("could not remove the lock in " + describe() + ": " + e.getMessage());
            }
        }
    }

    /**
     * @param space the holder's {@link #PROCESS_SPACE}; null in a record of a pgstrata that did not write one
     * @param startTicks when the holder's process started, in clock ticks after the boot ({@link #startTicks}); -1 when the
     *                   record does not say
     */
    record LockRecord(String holder, String host, long pid, String token, String space, long startTicks, Instant written, Instant serverNow,
                      String etag) {
        boolean stale(String myHost, Duration ttl) {
            if (Duration.between(written, serverNow).compareTo(ttl) > 0) {
                return true;
            }
            // A host name is no proof that the holder's pid is one of ours to look up: another
            // machine of the same name (cloned VMs, "localhost"), or a container sharing the
            // host's name but not its processes, would have its live lock taken over at once.
            if (host.equals(myHost) && (space == null || space.equals(PROCESS_SPACE))) {
                if (pid == ProcessHandle.current().pid()) {
                    return !LIVE_TOKENS.contains(token);
                }
                java.util.Optional<ProcessHandle> now = ProcessHandle.of(pid);
                if (now.isEmpty()) {
                    return true;
                }
                // The holder was killed and another process has its pid now (pids wrap around): that one is no holder. Told by
                // the kernel's start time in ticks after the boot, which the space pins: exact, and blind to the wall clock (a
                // start time as an instant is the boot time by the wall clock plus those ticks, and moves when the clock is set).
                long ticks = S3Storage.startTicks(Long.toString(pid));
                return startTicks >= 0 && ticks >= 0 && ticks != startTicks;
            }
            return false;
        }
    }

    /** When this process started ({@link #startTicks}), for {@link LockRecord#stale} on this host; -1 where it cannot be told. */
    static final long PROCESS_START_TICKS = startTicks("self");

    /**
     * When process {@code pid} ("self" for this one) started, in clock ticks after the boot: field 22 of /proc/PID/stat,
     * read after the command name's closing parenthesis (a name may hold spaces and parentheses); -1 where it cannot be read.
     */
    static long startTicks(String pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", pid, "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return Long.parseLong(fields[22 - 3]); // fields[0] is field 3 (the state)
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private LockRecord readLock() throws IOException {
        String k = key(LOCK_KEY);
        try (ResponseInputStream<GetObjectResponse> in = client.getObject(r -> r.bucket(location.bucket()).key(k))) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            GetObjectResponse meta = in.response();
            Instant now = meta.sdkHttpResponse().firstMatchingHeader("Date")
                    .map(d -> ZonedDateTime.parse(d, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()).orElse(Instant.now());
            String holder = "another process";
            String host = "";
            long pid = -1;
            String token = "";
            String space = null;
            long startTicks = -1;
            for (String line : text.split("\n")) {
                int eq = line.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String v = line.substring(eq + 1);
                switch (line.substring(0, eq)) {
                    case "holder" -> holder = v;
                    case "host" -> host = v;
                    case "pid" -> pid = parseLong(v);
                    case "token" -> token = v;
                    case "space" -> space = v;
                    case "start-ticks" -> startTicks = parseLong(v);
                    default -> { }
                }
            }
            return new LockRecord(holder, host, pid, token, space, startTicks, meta.lastModified(), now, meta.eTag());
        } catch (NoSuchKeyException e) {
            return null;
        } catch (SdkException e) {
            throw S3Errors.io("reading the lock " + url(k), location, e);
        }
    }

    private static long parseLong(String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Where this process's pid means something: the kernel's boot id and this process's PID
     * namespace ("pid:[4026531836]"); "" where they cannot be read (not Linux). Two processes
     * see each other's pids only when both are equal.
     */
    static final String PROCESS_SPACE = processSpace();

    private static String processSpace() {
        try {
            String boot = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/random/boot_id")).trim();
            return boot + "/" + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/pid"));
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }

    /** An object as s3://BUCKET/KEY, for messages. */
    private String url(String objectKey) {
        return S3Location.SCHEME + location.bucket() + "/" + objectKey;
    }

    @Override
    public String describe() {
        return location.describe();
    }

    @Override
    public String location() {
        return location.toString();
    }

    @Override
    public void close() {
        partUploads.shutdownNow();
        client.close();
    }
}
