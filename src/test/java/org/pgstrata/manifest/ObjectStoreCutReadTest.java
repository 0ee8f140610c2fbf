package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.crypt.EncryptedStorage;
import org.pgstrata.storage.crypt.KeyEnvelope;
import org.pgstrata.storage.crypt.RepositoryCipher;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Server;
import org.pgstrata.storage.s3.S3Storage;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

/**
 * A connection that the store (or the network) drops in the middle of an object's body is an
 * I/O error, not a damaged object: restore, verify and drill said "backup ... is damaged" (exit
 * 15; in an encrypted repository "fails its authentication") of an intact backup after one cut
 * download, and verify advised not to rely on it. A single cut costs nothing now: the read goes on
 * from where it stopped; only a store that cuts every attempt makes the read fail, as an I/O error.
 */
class ObjectStoreCutReadTest {
    private static S3Server server;
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    @BeforeAll
    static void startServer() throws Exception {
        server = S3Server.inMemory();
        server.createBucket("cut");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    private static byte[] content() {
        byte[] b = new byte[600_000];
        new Random(11).nextBytes(b); // incompressible: the stored object is as large as the content
        return b;
    }

    @ParameterizedTest
    @CsvSource({"ZSTD,false", "LZ4,false", "NONE,false", "ZSTD,true", "NONE,true"})
    void aReadCutMidObject_isResumedFromWhereItStopped(Compression c, boolean encrypted) throws Exception {
        Storage s3 = new S3Storage(S3Location.parse(server.location("cut", "t" + PREFIXES.incrementAndGet())));
        try (Storage storage = encrypted ? new EncryptedStorage(s3, new RepositoryCipher(KeyEnvelope.newDataKey())) : s3) {
            ObjectStore store = new ObjectStore(storage);
            ObjectStore.Stored stored = store.put("b1", "backup/b1/data/f" + c.suffix(), c, content());
            server.cutNextReads(200_000, 2); // the first GET and the first resumed one are cut
            try (var in = store.openContent(stored.ref(), stored.contentBytes(), stored.contentChecksum())) {
                assertThat(in.readAllBytes()).isEqualTo(content());
            }
            assertThat(server.readCutPending()).as("both cuts happened").isFalse();
            server.cutNextRead(200_000);
            store.verifyStored(stored.ref());
            assertThat(server.readCutPending()).isFalse();
        } finally {
            server.cutNextRead(-1);
        }
    }

    /** {@code cuts}: where each GET in turn is cut; a cut at 0 fails the request itself (HTTP 500). */
    @ParameterizedTest
    @CsvSource({"ZSTD,false,0", "ZSTD,true,0", "ZSTD,false,200000 0", "NONE,false,200000 0", "ZSTD,true,200000 0"})
    void aReadThatCannotBeResumed_isAnIoError_notADamagedObject(Compression c, boolean encrypted, String cuts) throws Exception {
        // one attempt per request: the SDK's own retries of a GET answered 500 would only make this test slow
        Storage s3 = new S3Storage(S3Location.parse(server.location("cut", "t" + PREFIXES.incrementAndGet())), 8L << 20, 1,
                DefaultCredentialsProvider.builder().build());
        long[] each = java.util.Arrays.stream(cuts.split(" ")).mapToLong(Long::parseLong).toArray();
        try (Storage storage = encrypted ? new EncryptedStorage(s3, new RepositoryCipher(KeyEnvelope.newDataKey())) : s3) {
            ObjectStore store = new ObjectStore(storage);
            ObjectStore.Stored stored = store.put("b1", "backup/b1/data/f" + c.suffix(), c, content());
            server.cutReads(each);
            assertThatThrownBy(() -> {
                try (var in = store.openContent(stored.ref(), stored.contentBytes(), stored.contentChecksum())) {
                    in.readAllBytes();
                }
            }).isInstanceOf(IOException.class).isNotInstanceOf(CorruptObjectException.class);
            assertThat(server.readCutPending()).isFalse();
            server.cutReads(each);
            assertThatThrownBy(() -> store.verifyStored(stored.ref())).isInstanceOf(IOException.class)
                    .isNotInstanceOf(CorruptObjectException.class);
        } finally {
            server.cutNextRead(-1);
        }
    }
}
