package org.pgstrata.storage.crypt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageContract;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Server;
import org.pgstrata.storage.s3.S3Storage;

/** The storage contract through the encrypting store over a real S3-compatible server (s3proxy) on 127.0.0.1. */
class EncryptedS3StorageTest extends StorageContract {
    private static final byte[] KEY = KeyEnvelope.newDataKey();
    private static S3Server server;
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private String location;

    @BeforeAll
    static void startServer() throws Exception {
        server = S3Server.inMemory();
        server.createBucket("crypt");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @Override
    protected Storage newStorage() {
        location = server.location("crypt", "t" + PREFIXES.incrementAndGet() + "/repo");
        return new EncryptedStorage(new S3Storage(S3Location.parse(location)), new RepositoryCipher(KEY));
    }

    @Override
    protected long partSize() {
        return 8L << 20;
    }

    @Test
    void theBucketHoldsNeitherTheContentNorTheNames_andListedSizesArePlaintextSizes() throws Exception {
        byte[] body = "pg_control of base/5/16385 pgstrata-marker-Zq83".repeat(20000).getBytes(StandardCharsets.UTF_8);
        storage.putBytes("backup/20261203-000000F/data/global+pg_control.zst", body);
        storage.putBytes("backup/20261203-000000F/bundle/0-0.zst", new byte[] {1, 2, 3});
        try (S3Storage raw = new S3Storage(S3Location.parse(location))) {
            for (String k : raw.list("")) {
                assertThat(k).doesNotContain("backup").doesNotContain("pg_control").doesNotContain("bundle");
                assertThat(new String(raw.getBytes(k), StandardCharsets.ISO_8859_1)).doesNotContain("pgstrata-marker").doesNotContain("pg_control");
            }
            assertThat(raw.list("")).hasSize(2);
        }
        assertThat(storage.listedSizes("backup/20261203-000000F/")).hasValueSatisfying(m -> assertThat(m)
                .containsEntry("backup/20261203-000000F/data/global+pg_control.zst", (long) body.length)
                .containsEntry("backup/20261203-000000F/bundle/0-0.zst", 3L));
        assertThat(storage.getBytes("backup/20261203-000000F/data/global+pg_control.zst")).isEqualTo(body);
    }
}
