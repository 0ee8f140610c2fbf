package org.pgstrata.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link Storage} passes. Each backend's test extends this class and says how
 * to make a fresh, empty storage.
 */
public abstract class StorageContract {
    protected Storage storage;

    protected abstract Storage newStorage() throws Exception;

    /** Where a backend that keeps directories keeps them (a file system); null for one without directories (S3). */
    protected java.nio.file.Path directories() {
        return null;
    }

    /** The size above which a backend writes an object in parts (multipart upload); a file system writes one stream. */
    protected long partSize() {
        return 1L << 20;
    }

    @BeforeEach
    void open() throws Exception {
        storage = newStorage();
    }

    @AfterEach
    void close() throws Exception {
        storage.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void put_thenGet_returnsTheBytes() throws Exception {
        storage.putBytes("a/b/c", bytes("hello"));
        assertThat(storage.getBytes("a/b/c")).isEqualTo(bytes("hello"));
        assertThat(storage.size("a/b/c")).isEqualTo(5);
        assertThat(storage.exists("a/b/c")).isTrue();
    }

    /** What an encrypted repository checks its objects' names by (Repository): each store answers it in its own way. */
    @Test
    void topLevelNames_areTheFirstComponentsOfTheKeys_eachOnce() throws Exception {
        assertThat(storage.topLevelNames()).isEmpty();
        storage.putBytes("a/b/c", bytes("1"));
        storage.putBytes("a/d", bytes("2"));
        storage.putBytes("e", bytes("3"));
        storage.putBytes("f/g/h/i", bytes("4"));
        assertThat(storage.topLevelNames()).containsExactly("a", "e", "f");
    }

    @Test
    void get_ofAMissingKey_throwsNotFound() {
        assertThatThrownBy(() -> storage.get("nope")).isInstanceOf(ObjectNotFoundException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> storage.size("nope")).isInstanceOf(ObjectNotFoundException.class);
        assertThatThrownBy(() -> storage.get("nope", 0, 1)).isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void rangedGet_returnsTheRange() throws Exception {
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        storage.putBytes("big", data);
        try (InputStream in = storage.get("big", 40_000, 1000)) {
            assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(data, 40_000, 41_000));
        }
        try (InputStream in = storage.get("big", 99_990, 1000)) {
            assertThat(in.readAllBytes()).hasSize(10);
        }
    }

    @Test
    void anObjectLargerThanAPart_goesUpWhole_andReadsBackInRanges() throws Exception {
        int size = (int) (2 * partSize() + 12345);
        byte[] data = new byte[size];
        new Random(7).nextBytes(data);
        try (Storage.ObjectWriter w = storage.create("multi/part")) {
            // in uneven writes, so that part boundaries fall inside them
            for (int off = 0; off < size; off += 777_777) {
                w.stream().write(data, off, Math.min(777_777, size - off));
            }
            assertThat(storage.exists("multi/part")).isFalse();
            assertThat(w.commit()).isEqualTo(size);
        }
        assertThat(storage.size("multi/part")).isEqualTo(size);
        assertThat(storage.getBytes("multi/part")).isEqualTo(data);
        long across = partSize() - 100;
        try (InputStream in = storage.get("multi/part", across, 200)) {
            assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(data, (int) across, (int) across + 200));
        }
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void aLargeUncommittedWrite_isDiscardedByClose() throws Exception {
        try (Storage.ObjectWriter w = storage.create("multi/dropped")) {
            w.stream().write(new byte[(int) partSize() + 1]);
        }
        assertThat(storage.exists("multi/dropped")).isFalse();
        assertThat(storage.list("")).isEmpty();
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void getBytesIfPresent_isEmptyForAMissingKey_andTheBytesOtherwise() throws Exception {
        assertThat(storage.getBytesIfPresent("info/nope")).isEmpty();
        storage.putBytes("info/yes", bytes("here"));
        assertThat(storage.getBytesIfPresent("info/yes")).hasValueSatisfying(b -> assertThat(new String(b)).isEqualTo("here"));
    }

    @Test
    void deleteTemporary_asksItsGuardOnlyWhenSomethingIsLeft_andRemovesNothingWhenTheGuardRefuses() throws Exception {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        storage.deleteTemporary("backup/", asked::incrementAndGet);
        assertThat(asked).as("nothing left: the guard (the lock's check) is not waited for").hasValue(0);

        Storage.ObjectWriter w = storage.create("backup/x/data/big");
        w.stream().write(new byte[(int) partSize() + 1]); // on S3 the first part goes up
        w.stream().flush();
        // no commit, no close: as if the process died here
        assertThat(storage.unfinishedWrites("backup/")).singleElement().asString().startsWith("backup/x/data/big");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.deleteTemporary("backup/", () -> {
            asked.incrementAndGet();
            throw new java.io.IOException("the lock was lost");
        })).hasMessage("the lock was lost");
        assertThat(storage.unfinishedWrites("backup/")).as("a refused guard removes nothing").hasSize(1);
        storage.deleteTemporary("backup/", asked::incrementAndGet);
        assertThat(asked).hasValue(2);
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void anUncommittedWrite_isInvisible_andClosingDiscardsIt() throws Exception {
        try (Storage.ObjectWriter w = storage.create("x/partial")) {
            w.stream().write(bytes("half"));
            assertThat(storage.exists("x/partial")).isFalse();
            assertThat(storage.list("x/")).isEmpty();
        }
        assertThat(storage.exists("x/partial")).isFalse();
        assertThat(storage.list("")).isEmpty();
    }

    @Test
    void overwrite_replacesTheObjectWhole() throws Exception {
        storage.putBytes("k", bytes("first"));
        storage.putBytes("k", bytes("second, longer"));
        assertThat(storage.getBytes("k")).isEqualTo(bytes("second, longer"));
    }

    @Test
    void list_returnsKeysUnderThePrefixInOrder_pastAThousand() throws Exception {
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 1100; i++) {
            String key = String.format("many/obj-%05d", i);
            storage.putBytes(key, new byte[] {(byte) i});
            expected.add(key);
        }
        storage.putBytes("other/x", bytes("x"));
        storage.putBytes("manyother", bytes("y"));
        assertThat(storage.list("many/")).containsExactlyElementsOf(expected);
        assertThat(storage.list("many")).hasSize(1101);
        assertThat(storage.list("none/")).isEmpty();
    }

    @Test
    void delete_removesTheObject_andMissingKeysAreFine() throws Exception {
        storage.putBytes("d/1", bytes("1"));
        storage.delete("d/1");
        storage.delete("d/1");
        assertThat(storage.exists("d/1")).isFalse();
        assertThat(storage.list("d/")).isEmpty();
    }

    @Test
    void deletePrefix_removesEverythingUnderIt_andNothingElse() throws Exception {
        storage.putBytes("backup/1/a", bytes("a"));
        storage.putBytes("backup/1/sub/b", bytes("b"));
        storage.putBytes("backup/10/c", bytes("c"));
        storage.deletePrefix("backup/1/");
        assertThat(storage.list("")).containsExactly("backup/10/c");
    }

    @Test
    void lock_secondHolder_failsAtOnceNamingTheFirst() throws Exception {
        try (Storage.RepositoryLock first = storage.lock("pgstrata backup (pid 4242)")) {
            assertThatThrownBy(() -> storage.lock("pgstrata backup (pid 5353)"))
                    .isInstanceOf(LockedException.class).hasMessageContaining("pid 4242");
        }
        try (Storage.RepositoryLock again = storage.lock("pgstrata backup (pid 5353)")) {
            assertThat(again).isNotNull();
        }
    }

    @Test
    void commitIfAbsent_createsAnAbsentKey_andLeavesAnExistingOneAlone() throws Exception {
        assertThat(storage.putBytesIfAbsent("once/k", bytes("first"))).isTrue();
        assertThat(storage.putBytesIfAbsent("once/k", bytes("second, longer"))).isFalse();
        assertThat(storage.getBytes("once/k")).isEqualTo(bytes("first"));
        // Over a key that plain writes made, too; and the refused write leaves nothing behind.
        storage.putBytes("once/plain", bytes("plain"));
        assertThat(storage.putBytesIfAbsent("once/plain", bytes("other"))).isFalse();
        assertThat(storage.getBytes("once/plain")).isEqualTo(bytes("plain"));
        assertThat(storage.list("")).containsExactly("once/k", "once/plain");
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void commitIfAbsent_ofAnObjectLargerThanAPart_isRefusedOverAnExistingKey_andLeavesNoUnfinishedUpload() throws Exception {
        byte[] data = new byte[(int) partSize() + 4321];
        new Random(3).nextBytes(data);
        try (Storage.ObjectWriter w = storage.create("once/big")) {
            w.stream().write(data);
            assertThat(w.commitIfAbsent()).isTrue();
        }
        try (Storage.ObjectWriter w = storage.create("once/big")) {
            w.stream().write(new byte[(int) partSize() + 1]);
            assertThat(w.commitIfAbsent()).isFalse();
        }
        assertThat(storage.getBytes("once/big")).isEqualTo(data);
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    /** Rounds of {@code writers} threads released together to create one key, each with its own content. */
    private void race(int rounds, int writers, int size) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            for (int round = 0; round < rounds; round++) {
                String key = "race/" + round;
                java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(writers);
                List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
                List<byte[]> contents = new ArrayList<>();
                for (int t = 0; t < writers; t++) {
                    byte[] content = new byte[size];
                    new Random(round * 1000L + t).nextBytes(content);
                    contents.add(content);
                    results.add(pool.submit(() -> {
                        try (Storage.ObjectWriter w = storage.create(key)) {
                            w.stream().write(content);
                            start.await();
                            return w.commitIfAbsent();
                        }
                    }));
                }
                List<Integer> winners = new ArrayList<>();
                for (int t = 0; t < writers; t++) {
                    if (results.get(t).get()) {
                        winners.add(t);
                    }
                }
                assertThat(winners).as("round %d", round).hasSize(1);
                assertThat(storage.getBytes(key)).as("round %d: the winner's content", round).isEqualTo(contents.get(winners.get(0)));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(storage.list("race/")).hasSize(rounds);
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void commitIfAbsent_racingWriters_exactlyOneWins() throws Exception {
        race(20, 8, 100_000);
    }

    @Test
    void commitIfAbsent_racingWritersOfObjectsLargerThanAPart_exactlyOneWins() throws Exception {
        race(3, 3, (int) partSize() + 1000);
    }

    @Test
    void checkConditionalWrites_passes_andLeavesNothing() throws Exception {
        storage.checkConditionalWrites();
        assertThat(storage.list("")).isEmpty();
    }

    @Test
    void aHeldLock_passesItsCheck_untilReleased() throws Exception {
        try (Storage.RepositoryLock lock = storage.lock("pgstrata backup (pid 4242)")) {
            lock.check();
            lock.check();
        }
    }

    /**
     * What a writer killed between making its directory and its first file leaves: named by its
     * (clear) name, removed by deletePrefix. A store without directories has none to name.
     */
    @Test
    void aDirectoryLeftEmpty_isNamed_andDeletePrefixRemovesIt() throws Exception {
        storage.putBytes("logical/20261203-000000LF/manifest", new byte[] {1});
        if (directories() == null) {
            assertThat(storage.emptyDirectories("logical/")).isEmpty();
            return;
        }
        List<java.nio.file.Path> before = storedFiles();
        storage.putBytes("logical/20261203-000001LF/dump.zst", new byte[] {2});
        assertThat(storage.emptyDirectories("logical/")).isEmpty();
        List<java.nio.file.Path> dump = new ArrayList<>(storedFiles());
        dump.removeAll(before);
        assertThat(dump).hasSize(1);
        java.nio.file.Files.delete(dump.get(0)); // its directory stays, empty
        assertThat(dump.get(0).getParent()).isEmptyDirectory();

        assertThat(storage.emptyDirectories("logical/")).containsExactly("logical/20261203-000001LF/");
        assertThat(storage.list("logical/")).containsExactly("logical/20261203-000000LF/manifest");
        storage.deletePrefix("logical/20261203-000001LF/");
        assertThat(dump.get(0).getParent()).doesNotExist();
        assertThat(storage.emptyDirectories("logical/")).isEmpty();
        assertThat(storage.list("logical/")).containsExactly("logical/20261203-000000LF/manifest");
    }

    private List<java.nio.file.Path> storedFiles() throws Exception {
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.walk(directories())) {
            return s.filter(java.nio.file.Files::isRegularFile).toList();
        }
    }
}
