package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Adversarial checks of the framed zstd format: every damage of a stored object must end in
 * {@link CorruptObjectException} on every read path (whole, content-checked, with every frame
 * substituted, ranged), content must come back byte for byte at every boundary and read size, and
 * the decompression pool must give back its permits however a stream ends.
 */
class ZstdFramesAdversarialTest {
    private static final int F = ZstdFrames.FRAME;

    @TempDir
    Path dir;

    private static byte[] content(int size, long seed) {
        return ZstdFramesTest.content(size, seed);
    }

    private static byte[] framed(byte[] data, int workers) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZstdFrames.Out out = new ZstdFrames.Out(bo, 3, workers)) {
            Random r = new Random(data.length);
            int at = 0;
            while (at < data.length) {
                int k = Math.min(data.length - at, 1 + r.nextInt(700_000));
                out.write(data, at, k);
                at += k;
            }
        }
        return bo.toByteArray();
    }

    private static List<byte[]> frames(byte[] stored) {
        List<byte[]> frames = new ArrayList<>();
        for (int at = 0; at < stored.length; ) {
            int k = (int) Zstd.findFrameCompressedSize(stored, at, stored.length - at);
            frames.add(java.util.Arrays.copyOfRange(stored, at, at + k));
            at += k;
        }
        return frames;
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            bo.writeBytes(p);
        }
        return bo.toByteArray();
    }

    private static int permits() throws Exception {
        var f = ZstdFrames.class.getDeclaredField("PERMITS");
        f.setAccessible(true);
        return ((Semaphore) f.get(null)).availablePermits();
    }

    /** Reads all in pieces of random size, 1 byte included, and through read() now and then. */
    private static byte[] readOddly(InputStream in, long seed) throws IOException {
        Random r = new Random(seed);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 20];
        while (true) {
            int pick = r.nextInt(10);
            if (pick == 0) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                bo.write(b);
                continue;
            }
            int len = pick == 1 ? 1 : pick < 5 ? 1 + r.nextInt(9000) : 1 + r.nextInt(buf.length);
            int n = in.read(buf, 0, len);
            if (n < 0) {
                break;
            }
            assertThat(n).isBetween(0, len);
            bo.write(buf, 0, n);
        }
        assertThat(in.read()).isEqualTo(-1);
        return bo.toByteArray();
    }

    @Test
    @Timeout(300)
    void everyBoundarySize_everyWorkerCount_everyReadSize_roundTrips_andSubstitutesAreAskedAtFrameOffsets() throws Exception {
        int base = permits();
        int[] sizes = {0, 1, 2, F - 1, F, F + 1, 2 * F - 1, 2 * F, 2 * F + 1, 5 * F + 8191};
        for (int size : sizes) {
            byte[] data = content(size, size * 31L);
            for (int workers : new int[] {1, 2, 5}) {
                byte[] stored = framed(data, workers);
                List<byte[]> frames = frames(stored);
                assertThat(frames).hasSize(Math.max(1, (size + F - 1) / F));
                for (int i = 0; i < frames.size(); i++) {
                    long cs = Zstd.getFrameContentSize(frames.get(i), 0, frames.get(i).length);
                    assertThat(cs).isEqualTo(i < frames.size() - 1 ? F : size - (long) F * (frames.size() - 1));
                }
                try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(stored))) {
                    assertThat(readOddly(in, size + workers)).as("size " + size + " workers " + workers).isEqualTo(data);
                }
                // Every other frame substituted (from the true content): asked for exactly the frames' ranges, in order.
                List<long[]> asked = new ArrayList<>();
                ZstdFrames.Substitute sub = (offset, length) -> {
                    asked.add(new long[] {offset, length});
                    return (offset / F) % 2 == 0 ? java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + length) : null;
                };
                try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(stored), sub)) {
                    assertThat(readOddly(in, size - workers)).isEqualTo(data);
                }
                assertThat(asked).hasSize(frames.size());
                for (int i = 0; i < asked.size(); i++) {
                    assertThat(asked.get(i)[0]).isEqualTo((long) i * F);
                    assertThat(asked.get(i)[1]).isEqualTo(Math.min(F, size - (long) i * F));
                }
            }
        }
        assertThat(permits()).isEqualTo(base);
    }

    /** Damaged forms of a stored object of three and a half frames, by name. */
    private static Map<String, byte[]> damaged(byte[] stored, byte[] otherStored) {
        List<byte[]> fr = frames(stored);
        Map<String, byte[]> d = new LinkedHashMap<>();
        int[] starts = new int[fr.size() + 1];
        for (int i = 0; i < fr.size(); i++) {
            starts[i + 1] = starts[i] + fr.get(i).length;
        }
        for (int i = 0; i < fr.size(); i++) {
            for (int delta : new int[] {0, 1, 4, 5, 6, 9, 13, 200, fr.get(i).length / 2, fr.get(i).length - 1}) {
                byte[] c = stored.clone();
                c[starts[i] + delta] ^= 0x01;
                d.put("flip frame " + i + " +" + delta, c);
            }
        }
        for (int i = 1; i <= fr.size(); i++) {
            d.put("cut at end of frame " + (i - 1), java.util.Arrays.copyOf(stored, starts[i] - (i == fr.size() ? 1 : 0)));
            d.put("cut 1 into frame " + (i - 1), java.util.Arrays.copyOf(stored, starts[i - 1] + 1));
        }
        d.put("empty", new byte[0]);
        List<byte[]> swapped = new ArrayList<>(fr);
        java.util.Collections.swap(swapped, 0, 1);
        d.put("frames 0 and 1 swapped", concat(swapped));
        List<byte[]> dup = new ArrayList<>(fr);
        dup.add(1, fr.get(1));
        d.put("frame 1 duplicated", concat(dup));
        List<byte[]> dropped = new ArrayList<>(fr);
        dropped.remove(2);
        d.put("frame 2 dropped", concat(dropped));
        List<byte[]> extra = new ArrayList<>(fr);
        extra.add(Zstd.compress(new byte[] {1, 2, 3}, 3));
        d.put("a frame appended", concat(extra));
        List<byte[]> empty = new ArrayList<>(fr);
        empty.add(2, Zstd.compress(new byte[0], 3));
        d.put("an empty frame inserted", concat(empty));
        List<byte[]> skip = new ArrayList<>(fr);
        skip.add(1, new byte[] {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 9, 9, 9, 9});
        d.put("a skippable frame inserted", concat(skip));
        // A frame whose header claims another size: the second frame's content, re-compressed short by a byte.
        byte[] second = Zstd.decompress(fr.get(1), F);
        List<byte[]> resized = new ArrayList<>(fr);
        resized.set(1, Zstd.compress(java.util.Arrays.copyOf(second, F - 1), 3));
        d.put("frame 1 one byte short", concat(resized));
        List<byte[]> unsized = new ArrayList<>(fr);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (var z = new com.github.luben.zstd.ZstdOutputStreamNoFinalizer(bo)) {
            z.write(second);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
        unsized.set(1, bo.toByteArray());
        d.put("frame 1 without a content size", concat(unsized));
        d.put("another object, a valid stream", otherStored);
        d.put("another object, one stream", Zstd.compress(content(3 * F, 99), 3));
        return d;
    }

    @Test
    @Timeout(600)
    void everyDamage_failsEveryReadPath_asCorrupt() throws Exception {
        int base = permits();
        FileStorage storage = new FileStorage(dir);
        ObjectStore store = new ObjectStore(storage);
        byte[] data = content(3 * F + F / 2, 5);
        ObjectStore.Stored s;
        try (ObjectStore.PendingObject p = store.create("b1", "backup/b1/data/x.zst", Compression.ZSTD, 2)) {
            p.content().write(data);
            s = p.finish();
        }
        Path file = dir.resolve("backup/b1/data/x.zst");
        Files.createDirectories(dir.resolve("backup/b1/bundle"));
        byte[] stored = Files.readAllBytes(file);
        byte[] other = framed(content(3 * F + F / 2, 6), 2);
        // Every frame's content at hand: nothing is decompressed, only the stored checksum can tell.
        ZstdFrames.Substitute all = (offset, length) -> offset + length <= data.length
                ? java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + length) : null;
        List<String> delivered = new ArrayList<>();
        List<String> sameContent = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : damaged(stored, other).entrySet()) {
            Files.write(file, e.getValue());
            String what = e.getKey();
            assertThatThrownBy(() -> store.readAll(s.ref())).as(what).isInstanceOf(CorruptObjectException.class);
            assertThatThrownBy(() -> {
                try (InputStream in = store.openContent(s.ref(), s.contentBytes(), s.contentChecksum())) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            }).as(what).isInstanceOf(CorruptObjectException.class);
            assertThatThrownBy(() -> {
                try (InputStream in = store.open(s.ref(), all)) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            }).as(what + ", substituted").isInstanceOf(CorruptObjectException.class);
            // The same object referred to as a range of a larger one (a bundle's member, read ranged and from memory).
            byte[] bundle = concat(List.of(new byte[] {7, 7, 7}, e.getValue(), new byte[] {8, 8}));
            Files.write(dir.resolve("backup/b1/bundle/x.zst"), bundle);
            ObjectRef ranged = new ObjectRef("b1", "backup/b1/bundle/x.zst", "zstd", s.ref().storedBytes(), s.ref().storedChecksum(), 3L);
            boolean rangeIntact = e.getValue().length >= stored.length
                    && java.util.Arrays.equals(e.getValue(), 0, stored.length, stored, 0, stored.length);
            if (rangeIntact) {
                // Damage past the member's range (an appended frame): the member itself is intact.
                assertThat(store.readAll(ranged)).as(what).isEqualTo(data);
            } else {
                assertThatThrownBy(() -> store.readAll(ranged)).as(what + ", ranged").isInstanceOf(CorruptObjectException.class);
                assertThatThrownBy(() -> {
                    try (InputStream in = store.open(ranged, bundle)) {
                        in.readAllBytes();
                    }
                }).as(what + ", bundle in memory").isInstanceOf(CorruptObjectException.class);
            }
            // A reference that matches the damaged bytes (a manifest that names them): the content check decides.
            if (e.getValue().length > 0) {
                ObjectRef matching = new ObjectRef("b1", "backup/b1/data/x.zst", "zstd", e.getValue().length, Checksum.of(e.getValue()), null);
                byte[] back;
                try (InputStream in = store.open(matching)) {
                    back = in.readAllBytes();
                } catch (CorruptObjectException refused) {
                    continue; // refused by the decoder itself
                }
                if (java.util.Arrays.equals(back, data)) {
                    sameContent.add(what); // other stored bytes, the same content: nothing wrong is restored
                    continue;
                }
                delivered.add(what);
                assertThat(Checksum.of(back)).as(what + ": the content checksum tells").isNotEqualTo(s.contentChecksum());
                assertThatThrownBy(() -> {
                    try (InputStream in = store.openContent(matching, s.contentBytes(), s.contentChecksum())) {
                        in.readAllBytes();
                    }
                }).as(what + ", content check").isInstanceOf(CorruptObjectException.class);
            }
        }
        System.out.println("decoded without complaint when the stored checksum matches, other content: " + delivered);
        System.out.println("decoded without complaint when the stored checksum matches, same content: " + sameContent);
        Files.write(file, stored);
        assertThat(store.readAll(s.ref())).isEqualTo(data);
        assertThat(permits()).isEqualTo(base);
    }

    @Test
    @Timeout(600)
    void manyReadersAndWriters_atOnce_withEarlyCloses_deliverInOrder_andGiveBackEveryPermit() throws Exception {
        int base = permits();
        ExecutorService ex = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int seed = t;
                fs.add(ex.submit(() -> {
                    Random r = new Random(seed);
                    for (int i = 0; i < 6; i++) {
                        int size = r.nextInt(4) == 0 ? r.nextInt(1000) : r.nextInt(6 * F);
                        byte[] data = content(size, seed * 100 + i);
                        byte[] stored = framed(data, 1 + r.nextInt(4));
                        if (r.nextBoolean()) {
                            try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(stored))) {
                                assertThat(readOddly(in, i)).isEqualTo(data);
                            }
                        } else {
                            // Stop early, with frames in flight, and close.
                            try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(stored))) {
                                byte[] head = in.readNBytes(Math.min(size, r.nextInt(F + 10)));
                                assertThat(head).isEqualTo(java.util.Arrays.copyOf(data, head.length));
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(500, TimeUnit.SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
        assertThat(permits()).isEqualTo(base);
    }

    @Test
    @Timeout(120)
    void aFailingStoredStream_midway_isAnErrorAndGivesBackPermits_andAnErrorIsNotTurnedIntoDamage() throws Exception {
        int base = permits();
        byte[] data = content(5 * F, 17);
        byte[] stored = framed(data, 3);
        for (Throwable failure : new Throwable[] {new IOException("network"), new OutOfMemoryError("test heap")}) {
            InputStream failing = new java.io.FilterInputStream(new ByteArrayInputStream(stored)) {
                long n;

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (n > stored.length / 2) {
                        if (failure instanceof IOException io) {
                            throw io;
                        }
                        throw (Error) failure;
                    }
                    int k = super.read(b, off, Math.min(len, 10_000));
                    n += Math.max(0, k);
                    return k;
                }
            };
            assertThatThrownBy(() -> {
                try (InputStream in = new ZstdFrames.In(failing)) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            }).isSameAs(failure);
        }
        assertThat(permits()).isEqualTo(base);
    }

    /**
     * A backup that fails while a file is being written abandons its object: closing it must give
     * back the decompression pool's permits, or every later object in the process is compressed on
     * one thread.
     */
    @Test
    @Timeout(120)
    void anAbandonedFramedObject_givesBackItsPermits() throws Exception {
        int base = permits();
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = content(8 * F, 23);
        try (ObjectStore.PendingObject p = store.create("b1", "backup/b1/data/abandoned.zst", Compression.ZSTD, 4)) {
            p.content().write(data);
            // no finish(): the file could not be read to its end
        }
        assertThat(permits()).isEqualTo(base);
        assertThat(Files.exists(dir.resolve("backup/b1/data/abandoned.zst"))).isFalse();
    }
}
