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
    private BlobStore store;
    private S3Proxy proxy;

    private S3Server(Path directory, int port) {
        this.directory = directory;
        this.port = port;
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

    /** Starts (again, on the same port and with the same objects, after {@link #stop()}). */
    public synchronized void start() throws Exception {
        if (proxy != null) {
            return;
        }
        if (store == null) {
            store = directory != null ? new FilesystemNio2BlobStore(directory.toString()) : new TransientNio2BlobStore();
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
}
