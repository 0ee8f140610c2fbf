package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.fs.FileStorage;

class ObjectStoreTest {
    @TempDir
    Path dir;

    private static byte[] content() {
        // compressible like table data: repeated words with varying numbers
        StringBuilder sb = new StringBuilder();
        Random r = new Random(7);
        while (sb.length() < 300_000) {
            sb.append("book ").append(r.nextInt(100_000)).append(" by author ").append(r.nextInt(50)).append('\n');
        }
        return sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void put_thenOpen_returnsTheContent_withItsChecksum(Compression c) throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = content();
        ObjectStore.Stored s = store.put("b1", "backup/b1/data/f" + c.suffix(), c, data);
        assertThat(s.contentBytes()).isEqualTo(data.length);
        assertThat(s.contentChecksum()).isEqualTo(Checksum.of(data));
        assertThat(store.readAll(s.ref())).isEqualTo(data);
        if (c != Compression.NONE) {
            assertThat(s.ref().storedBytes()).isLessThan(data.length);
        }
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void openContent_checksTheContentAgainstWhatTheManifestSays(Compression c) throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = content();
        ObjectStore.Stored s = store.put("b1", "backup/b1/data/g" + c.suffix(), c, data);
        try (var in = store.openContent(s.ref(), s.contentBytes(), s.contentChecksum())) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        // intact stored bytes, but not the content the manifest describes (a manifest of another object, say)
        assertThatThrownBy(() -> {
            try (var in = store.openContent(s.ref(), s.contentBytes(), "0000000000000000")) {
                in.readAllBytes();
            }
        }).isInstanceOf(CorruptObjectException.class).hasMessageContaining("has content checksum");
        assertThatThrownBy(() -> {
            try (var in = store.openContent(s.ref(), s.contentBytes() - 1, s.contentChecksum())) {
                in.readAllBytes();
            }
        }).isInstanceOf(CorruptObjectException.class).hasMessageContaining("content bytes recorded");
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void open_ofAFlippedByte_failsAsCorrupt(Compression c) throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        ObjectStore.Stored s = store.put("b1", "backup/b1/data/f" + c.suffix(), c, content());
        Path file = dir.resolve(s.ref().key());
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length / 2] ^= 0x40;
        Files.write(file, stored);
        assertThatThrownBy(() -> store.readAll(s.ref())).isInstanceOf(CorruptObjectException.class)
                .hasMessageContaining(s.ref().key());
        assertThatThrownBy(() -> store.verifyStored(s.ref())).isInstanceOf(CorruptObjectException.class);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void open_ofAMissingObject_failsAsCorrupt(Compression c) throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        ObjectStore.Stored s = store.put("b1", "backup/b1/data/f" + c.suffix(), c, content());
        Files.delete(dir.resolve(s.ref().key()));
        assertThatThrownBy(() -> store.readAll(s.ref())).isInstanceOf(CorruptObjectException.class).hasMessageContaining("missing");
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void open_ofATruncatedObject_failsAsCorrupt(Compression c) throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        ObjectStore.Stored s = store.put("b1", "backup/b1/data/f" + c.suffix(), c, content());
        Path file = dir.resolve(s.ref().key());
        byte[] stored = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(stored, stored.length - 10));
        assertThatThrownBy(() -> store.readAll(s.ref())).isInstanceOf(CorruptObjectException.class);
    }
}
