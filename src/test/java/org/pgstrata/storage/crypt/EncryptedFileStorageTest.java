package org.pgstrata.storage.crypt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageContract;
import org.pgstrata.storage.fs.FileStorage;

/**
 * The storage contract through the encrypting store over a directory, and what the directory
 * then holds: nothing readable, nothing that can be changed, moved or cut without the read
 * failing.
 */
class EncryptedFileStorageTest extends StorageContract {
    private static final byte[] KEY = KeyEnvelope.newDataKey();

    @TempDir
    Path dir;

    @Override
    protected Storage newStorage() {
        return new EncryptedStorage(new FileStorage(dir.resolve("repo")), new RepositoryCipher(KEY));
    }

    @Override
    protected Path directories() {
        return dir.resolve("repo");
    }

    private List<Path> storedFiles() throws Exception {
        try (Stream<Path> s = Files.walk(dir.resolve("repo"))) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void theDirectoryHoldsNeitherTheContentNorTheNames_butTheCallerSeesBoth() throws Exception {
        String marker = "pgstrata-marker-Zq83";
        byte[] body = ("PG_VERSION 17 pg_control base/5/16385 " + marker).repeat(1000).getBytes(StandardCharsets.UTF_8);
        storage.putBytes("backup/20261203-000000F/data/base+5+16385.zst", body);
        storage.putBytes("backup/20261203-000000F/data/global+pg_control.zst", body);
        storage.putBytes("archive/0000000100000000/000000010000000000000001", body);
        storage.putBytes("repo.json", "{\"identity\":true}".getBytes(StandardCharsets.UTF_8));

        assertThat(storage.list("")).containsExactly("archive/0000000100000000/000000010000000000000001",
                "backup/20261203-000000F/data/base+5+16385.zst", "backup/20261203-000000F/data/global+pg_control.zst", "repo.json");
        assertThat(storage.getBytes("backup/20261203-000000F/data/base+5+16385.zst")).isEqualTo(body);
        assertThat(storage.size("backup/20261203-000000F/data/base+5+16385.zst")).isEqualTo(body.length);

        for (Path p : storedFiles()) {
            String name = dir.resolve("repo").relativize(p).toString();
            if (name.equals("repo.json")) {
                continue; // the identity file stays clear
            }
            for (String word : List.of(marker, "PG_VERSION", "pg_control", "base", "backup", "archive", "16385", "0000000100000000")) {
                assertThat(name).as("stored name " + name).doesNotContain(word);
                assertThat(contains(Files.readAllBytes(p), word.getBytes(StandardCharsets.UTF_8))).as(word + " in the bytes of " + name).isFalse();
            }
        }
        // The proof can fail: the same scan finds the marker in a clear store.
        try (Storage clear = new FileStorage(dir.resolve("clear"))) {
            clear.putBytes("x", body);
            assertThat(contains(Files.readAllBytes(dir.resolve("clear/x")), marker.getBytes(StandardCharsets.UTF_8))).isTrue();
        }
    }

    @Test
    void aFlippedBitAnywhereInAStoredObject_failsItsRead_asCorrupt() throws Exception {
        byte[] body = new byte[(5 << 19) + 123]; // two and a half segments
        new Random(3).nextBytes(body);
        storage.putBytes("data/object", body);
        Path stored = storedFiles().get(0);
        byte[] cipher = Files.readAllBytes(stored);
        for (int at : new int[] {0, 20, 45, 1 << 20, (1 << 20) + 7, cipher.length - 17, cipher.length - 1}) {
            byte[] bad = cipher.clone();
            bad[at] ^= 0x10;
            Files.write(stored, bad);
            assertThatThrownBy(() -> storage.getBytes("data/object")).as("bit flipped at " + at)
                    .isInstanceOf(CorruptObjectException.class).hasMessageContaining("data/object");
        }
        Files.write(stored, cipher);
        assertThat(storage.getBytes("data/object")).isEqualTo(body);
    }

    @Test
    void aDamagedObject_isSaidOnOneLine() throws Exception {
        byte[] body = new byte[(3 << 19) + 55];
        new Random(5).nextBytes(body);
        storage.putBytes("data/object", body);
        Path stored = storedFiles().get(0);
        byte[] cipher = Files.readAllBytes(stored);
        for (int at : new int[] {45, cipher.length / 2, cipher.length - 1}) {
            byte[] bad = cipher.clone();
            bad[at] ^= 0x01;
            Files.write(stored, bad);
            assertThatThrownBy(() -> storage.getBytes("data/object")).as("bit flipped at " + at)
                    .isInstanceOf(CorruptObjectException.class)
                    .satisfies(e -> assertThat(e.getMessage()).contains("data/object").doesNotContain("\n").doesNotContain("\r"));
            assertThatThrownBy(() -> {
                try (InputStream in = storage.get("data/object", 10, body.length - 10)) {
                    in.readAllBytes();
                }
            }).as("ranged read, bit flipped at " + at).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
    }

    @Test
    void anObjectCutShort_orMovedToAnotherName_orWrittenWithAnotherKey_failsAsCorrupt() throws Exception {
        byte[] body = new byte[3 << 20];
        new Random(4).nextBytes(body);
        storage.putBytes("data/a", body);
        storage.putBytes("data/b", Arrays.copyOf(body, 10));
        Path a = storedFiles().stream().filter(p -> p.toFile().length() > 1000).findFirst().orElseThrow();
        Path b = storedFiles().stream().filter(p -> p.toFile().length() < 1000).findFirst().orElseThrow();
        byte[] cipherA = Files.readAllBytes(a);

        // Cut at a segment boundary: every remaining segment is intact, the last one is missing.
        Files.write(a, Arrays.copyOf(cipherA, (1 << 20) - 40));
        assertThatThrownBy(() -> storage.getBytes("data/a")).isInstanceOf(CorruptObjectException.class);
        // Cut inside the last segment: the size still looks like an object's, the read fails.
        Files.write(a, Arrays.copyOf(cipherA, cipherA.length - 5));
        assertThatThrownBy(() -> storage.getBytes("data/a")).isInstanceOf(CorruptObjectException.class);

        // b's name, a's (intact) ciphertext: it was encrypted for another key.
        Files.write(a, cipherA);
        Files.write(b, cipherA);
        assertThatThrownBy(() -> storage.getBytes("data/b")).isInstanceOf(CorruptObjectException.class);
        assertThat(storage.getBytes("data/a")).isEqualTo(body);

        // Another repository's key reads neither the names nor the content.
        try (Storage other = new EncryptedStorage(new FileStorage(dir.resolve("repo")), new RepositoryCipher(KeyEnvelope.newDataKey()))) {
            assertThat(other.list("")).isEmpty();
            assertThat(other.exists("data/a")).isFalse();
        }
    }

    @Test
    void rangedReads_returnTheSameBytesAsTheWhole_acrossSegmentBoundaries() throws Exception {
        byte[] body = new byte[(5 << 19) + 999];
        new Random(5).nextBytes(body);
        storage.putBytes("bundle/0-0.zst", body);
        long[][] ranges = {{0, 10}, {(1 << 20) - 30, 60}, {(1 << 20) - 30, 3 << 20}, {2 << 20, 1}, {body.length - 5, 5},
            {body.length - 5, 100}, {body.length, 10}, {12345, 0}};
        for (long[] r : ranges) {
            byte[] got;
            try (InputStream in = storage.get("bundle/0-0.zst", r[0], r[1])) {
                got = in.readAllBytes();
            }
            int from = (int) Math.min(r[0], body.length);
            int to = (int) Math.min(body.length, r[0] + r[1]);
            assertThat(got).as("range " + r[0] + "+" + r[1]).isEqualTo(Arrays.copyOfRange(body, from, to));
        }
        // A flipped bit in the segment a range lies in fails the ranged read too.
        Path stored = storedFiles().get(0);
        byte[] cipher = Files.readAllBytes(stored);
        cipher[(1 << 20) + 100] ^= 1;
        Files.write(stored, cipher);
        assertThatThrownBy(() -> {
            try (InputStream in = storage.get("bundle/0-0.zst", (1 << 20) + 50, 10)) {
                in.readAllBytes();
            }
        }).isInstanceOf(CorruptObjectException.class);
        try (InputStream in = storage.get("bundle/0-0.zst", 0, 100)) {
            assertThat(in.readAllBytes()).as("another segment still reads").isEqualTo(Arrays.copyOf(body, 100));
        }
    }

    @Test
    void listingAPartialName_findsWhatStartsWithIt() throws Exception {
        storage.putBytes("archive/0000000100000000/000000010000000000000001", new byte[] {1});
        storage.putBytes("archive/0000000100000000/000000010000000000000001.partial", new byte[] {2});
        storage.putBytes("archive/0000000100000000/000000010000000000000002", new byte[] {3});
        assertThat(storage.list("archive/0000000100000000/000000010000000000000001"))
                .containsExactly("archive/0000000100000000/000000010000000000000001", "archive/0000000100000000/000000010000000000000001.partial");
        List<String> all = new ArrayList<>(storage.list("archive/"));
        assertThat(all).hasSize(3);
    }

    /** A name the cipher accepts (at most MAX_COMPONENT bytes) can be written: its temporary file's name fits too. */
    @Test
    void theLongestNameTheCipherAccepts_canBeWritten() throws Exception {
        String key = "backup/20261203-000000F/data/" + "d".repeat(RepositoryCipher.MAX_COMPONENT - 4) + ".zst";
        storage.putBytes(key, new byte[] {1, 2, 3});
        assertThat(storage.getBytes(key)).containsExactly(1, 2, 3);
        assertThat(storage.list("backup/")).containsExactly(key);
    }
}
