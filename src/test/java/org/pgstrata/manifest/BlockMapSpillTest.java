package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Block maps larger than {@link BlockMap#heapBytes()} live in a temporary file: the hashes read
 * back must be the very ones written, whichever way a map was held, and a map far larger than
 * the heap must be writable and readable within it.
 */
class BlockMapSpillTest {
    @TempDir
    Path dir;

    /** Files of random sizes (0 to 40 blocks, some with a short last block) and a hash for each block. */
    private static List<FileEntry> files(Random r, int count, List<long[]> hashes) {
        List<FileEntry> files = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long size = r.nextInt(41) * 8192L - (r.nextInt(4) == 0 ? r.nextInt(8191) : 0);
            size = Math.max(size, 0);
            files.add(FileEntry.whole(String.format("base/5/%05d", i), size, "rw-------", Checksum.EMPTY, null));
            long[] h = new long[(int) BlockMap.blocks(size)];
            for (int b = 0; b < h.length; b++) {
                h[b] = r.nextLong();
            }
            hashes.add(h);
        }
        return files;
    }

    private static ObjectRef write(ObjectStore store, String id, BlockMap.Builder builder, List<FileEntry> files) throws IOException {
        return builder.write(store, id, files);
    }

    @Test
    void spilledAndHeldMaps_writeTheSameObject_andReadBackEveryFilesHashes() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        Random r = new Random(16);
        List<long[]> hashes = new ArrayList<>();
        List<FileEntry> files = files(r, 300, hashes);

        // Held on the heap, spilled from the first file, and spilled halfway, from four threads at once.
        long total = hashes.stream().mapToLong(h -> h.length * 8L).sum();
        List<byte[]> written = new ArrayList<>();
        for (long limit : new long[] {Long.MAX_VALUE, 0, total / 2}) {
            try (BlockMap.Builder b = new BlockMap.Builder(limit)) {
                var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
                List<java.util.concurrent.Future<?>> done = new ArrayList<>();
                for (int i = 0; i < files.size(); i++) {
                    int k = i;
                    done.add(pool.submit(() -> {
                        b.put(files.get(k).path(), hashes.get(k));
                        return null;
                    }));
                }
                for (var f : done) {
                    f.get();
                }
                pool.shutdown();
                assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
                assertThat(b.spilled()).isEqualTo(limit < total);
                String id = "b" + written.size();
                written.add(store.readAll(write(store, id, b, files)));
            }
        }
        assertThat(written.get(1)).isEqualTo(written.get(0));
        assertThat(written.get(2)).isEqualTo(written.get(0));
        assertThat(written.get(0)).hasSize((int) total);

        ObjectRef ref;
        try (BlockMap.Builder b = new BlockMap.Builder(Long.MAX_VALUE)) {
            for (int i = 0; i < files.size(); i++) {
                b.put(files.get(i).path(), hashes.get(i));
            }
            ref = write(store, "b9", b, files);
        }
        for (long limit : new long[] {Long.MAX_VALUE, 0}) {
            try (BlockMap map = BlockMap.read(store, ref, "b9", files, limit)) {
                assertThat(map.spilled()).isEqualTo(limit == 0);
                for (int i = 0; i < files.size(); i++) {
                    assertThat(map.of(files.get(i).path())).as(files.get(i).path()).isEqualTo(hashes.get(i));
                }
                assertThat(map.of("base/5/absent")).isNull();
            }
        }
        // The proof can fail: one hash changed is seen, held or spilled.
        hashes.get(7)[0] ^= 1;
        try (BlockMap map = BlockMap.read(store, ref, "b9", files, 0)) {
            assertThat(map.of(files.get(7).path())).isNotEqualTo(hashes.get(7));
        }
    }

    @Test
    void aSpilledMap_stillRefusesAnObjectThatDoesNotFitTheManifest() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        List<long[]> hashes = new ArrayList<>();
        List<FileEntry> files = files(new Random(3), 20, hashes);
        ObjectRef ref;
        try (BlockMap.Builder b = new BlockMap.Builder(0)) {
            for (int i = 0; i < files.size(); i++) {
                b.put(files.get(i).path(), hashes.get(i));
            }
            ref = b.write(store, "b1", files);
        }
        List<FileEntry> longer = new ArrayList<>(files);
        longer.add(FileEntry.whole("base/5/zzz", 8192, "rw-------", Checksum.EMPTY, null));
        assertThatThrownBy(() -> BlockMap.read(store, ref, "b1", longer, 0)).isInstanceOf(CorruptObjectException.class)
                .hasMessageContaining("ends before the hashes of base/5/zzz");
        assertThatThrownBy(() -> BlockMap.read(store, ref, "b1", files.subList(0, 19), 0)).isInstanceOf(CorruptObjectException.class)
                .hasMessageContaining("is longer than");
    }

    /**
     * The bound itself: in a JVM of 64 MiB of heap, the block map of 256 GiB of data (32 Mi hashes,
     * 256 MiB: four times the heap) is built, written, read back and checked file by file. Held on
     * the heap it would not fit.
     */
    @Test
    void aMapFourTimesTheHeap_isBuiltWrittenAndReadInAChildJvm() throws Exception {
        Files.createDirectories(dir.resolve("repo"));
        String out = ChildJvm.run(List.of("-Xmx64m", "-Djava.io.tmpdir=" + dir), LargeMap.class, dir.resolve("repo").toString());
        assertThat(out).contains("ok 256 files, 33554432 hashes, spilled true/true");
        // The temporary files were unlinked when opened: nothing is left in java.io.tmpdir.
        try (var left = Files.list(dir)) {
            assertThat(left.map(x -> x.getFileName().toString())).containsExactly("repo");
        }
    }

    /** The child JVM's work: 256 files of 1 GiB, each block's hash derived from its file and number. */
    public static final class LargeMap {
        public static void main(String[] args) throws Exception {
            ObjectStore store = new ObjectStore(new FileStorage(Path.of(args[0])));
            List<FileEntry> files = new ArrayList<>();
            int perFile = 131072;
            for (int i = 0; i < 256; i++) {
                files.add(FileEntry.whole(String.format("base/5/%d", 100000 + i), perFile * 8192L, "rw-------", Checksum.EMPTY, null));
            }
            ObjectRef ref;
            boolean builtSpilled;
            try (BlockMap.Builder b = new BlockMap.Builder()) {
                for (int i = 0; i < files.size(); i++) {
                    long[] h = new long[perFile];
                    for (int k = 0; k < perFile; k++) {
                        h[k] = i * 1_000_003L + k;
                    }
                    b.put(files.get(i).path(), h);
                }
                builtSpilled = b.spilled();
                ref = b.write(store, "big", files);
            }
            long n = 0;
            try (BlockMap map = BlockMap.read(store, ref, "big", files, BlockMap.heapBytes())) {
                for (int i = 0; i < files.size(); i++) {
                    long[] h = map.of(files.get(i).path());
                    for (int k = 0; k < perFile; k++) {
                        if (h[k] != i * 1_000_003L + k) {
                            throw new AssertionError("file " + i + " block " + k + " reads " + h[k]);
                        }
                    }
                    n += h.length;
                }
                System.out.println("ok " + files.size() + " files, " + n + " hashes, spilled " + builtSpilled + "/" + map.spilled());
            }
        }
    }
}
