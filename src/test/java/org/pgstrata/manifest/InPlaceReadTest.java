package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.postgres.Page;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Restore and rebuild take content where the decoder left it ({@link InPlace}) instead of copying
 * it into a buffer of their own first. What they get must be the content byte for byte, however
 * the object is stored (frames of ours, one zstd stream, frames that do not end on a page, LZ4),
 * and damage must still be reported as damage.
 */
class InPlaceReadTest {
    @TempDir
    Path dir;

    /** Reads everything through {@link InPlace#readInPlace}, each piece copied out before the next read. */
    private static byte[] readAllInPlace(InPlace in, int max) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int n;
        while ((n = in.readInPlace(max)) >= 0) {
            assertThat(n).as("a piece of at most " + max).isBetween(1, max);
            out.write(in.array(), in.offset(), n);
        }
        return out.toByteArray();
    }

    private static ObjectStore.Stored store(ObjectStore store, String key, byte[] data, Compression c) throws Exception {
        try (ObjectStore.PendingObject p = store.create("b1", key, c, 2)) {
            p.content().write(data);
            return p.finish();
        }
    }

    @Test
    void framedStreamAndLz4Objects_readInPlace_byteForByte() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        int f = ZstdFrames.FRAME;
        for (int size : new int[] {0, 1, Page.SIZE, f - 1, f, f + 1, 2 * f + 12345}) {
            byte[] data = ZstdFramesTest.content(size, size);
            ObjectStore.Stored framed = store(store, "backup/b1/data/z" + size, data, Compression.ZSTD);
            ObjectStore.Stored lz4 = store(store, "backup/b1/data/l" + size, data, Compression.LZ4);
            for (ObjectStore.Stored s : List.of(framed, lz4)) {
                for (int max : new int[] {1, 7, Page.SIZE, 1 << 17, f + 1}) {
                    try (InputStream in = store.open(s.ref())) {
                        assertThat(in).isInstanceOf(InPlace.class);
                        assertThat(java.util.Arrays.mismatch(readAllInPlace((InPlace) in, max), data))
                                .as(s.ref().compression() + ", " + size + " bytes, pieces of " + max).isEqualTo(-1);
                    }
                }
            }
        }
        // One zstd stream (smaller objects, and everything earlier versions wrote), decoded into a buffer of the reader's.
        byte[] data = ZstdFramesTest.content(3 * f + 5, 3);
        byte[] stream = Zstd.compress(data, 3);
        Files.write(dir.resolve("one.zst"), stream);
        ObjectRef ref = new ObjectRef("b1", "one.zst", "zstd", stream.length, Checksum.of(stream), null);
        try (InputStream in = store.open(ref)) {
            assertThat(readAllInPlace((InPlace) in, Page.SIZE)).isEqualTo(data);
        }
    }

    @Test
    void readsInPlaceAndCopiedReads_mixed_keepTheOrder() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = ZstdFramesTest.content(3 * ZstdFrames.FRAME + 999, 5);
        ObjectStore.Stored s = store(store, "backup/b1/data/m", data, Compression.ZSTD);
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        Random r = new Random(5);
        try (InputStream in = store.open(s.ref())) {
            InPlace p = (InPlace) in;
            while (true) {
                int max = 1 + r.nextInt(3 * Page.SIZE);
                if (r.nextBoolean()) {
                    int n = p.readInPlace(max);
                    if (n < 0) {
                        break;
                    }
                    back.write(p.array(), p.offset(), n);
                } else {
                    byte[] b = new byte[max];
                    int n = in.read(b, 0, max);
                    if (n < 0) {
                        break;
                    }
                    back.write(b, 0, n);
                }
            }
        }
        assertThat(java.util.Arrays.mismatch(back.toByteArray(), data)).isEqualTo(-1);
    }

    @Test
    void aDamagedFramedObject_readInPlace_isReportedAsDamage() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = ZstdFramesTest.content(3 * ZstdFrames.FRAME, 11);
        ObjectStore.Stored s = store(store, "backup/b1/data/d", data, Compression.ZSTD);
        Path file = dir.resolve("backup/b1/data/d");
        byte[] stored = Files.readAllBytes(file);
        long first = Zstd.findFrameCompressedSize(stored, 0, stored.length);
        byte[] flipped = stored.clone();
        flipped[(int) first + 200] ^= 0x40;
        Files.write(file, flipped);
        assertThatThrownBy(() -> {
            try (InputStream in = store.open(s.ref())) {
                readAllInPlace((InPlace) in, 1 << 17);
            }
        }).isInstanceOf(CorruptObjectException.class);
        // Cut short: the stored size and checksum say so at the end, not a silent short read.
        Files.write(file, java.util.Arrays.copyOf(stored, stored.length - 100));
        assertThatThrownBy(() -> {
            try (InputStream in = store.open(s.ref())) {
                readAllInPlace((InPlace) in, Page.SIZE);
            }
        }).isInstanceOf(CorruptObjectException.class);
    }

    /** Concatenated zstd frames of {@code frame} content bytes each, each with its content size: framed, but not on page boundaries. */
    private ObjectRef frames(String key, byte[] content, int frame) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int at = 0; at < content.length; at += frame) {
            out.write(Zstd.compress(java.util.Arrays.copyOfRange(content, at, Math.min(content.length, at + frame)), 1));
        }
        byte[] stored = out.toByteArray();
        Files.write(dir.resolve(key), stored);
        return new ObjectRef("b1", key, "zstd", stored.length, Checksum.of(stored), null);
    }

    /**
     * A rebuild reads each block in place where one frame holds it whole and copies it where it
     * spans two: frames of 5,000 and 3,000 bytes put page boundaries inside frames at every
     * offset. The rebuilt file, its checksum and its block hashes must be those of the content.
     */
    @Test
    void aRebuildOverFramesThatSplitPages_isTheContent() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        int blocks = 40;
        long size = (long) blocks * Page.SIZE - 1000; // a short last block: the base is shorter than the file, zero-padded
        byte[] base = ZstdFramesTest.content(blocks * Page.SIZE - 3000, 21);
        long[] changed = {0, 3, 4, 17, 38, 39};
        byte[] pages = ZstdFramesTest.content(changed.length * Page.SIZE, 22);
        byte[] expected = java.util.Arrays.copyOf(base, (int) size);
        for (int i = 0; i < changed.length; i++) {
            int at = (int) changed[i] * Page.SIZE;
            System.arraycopy(pages, i * Page.SIZE, expected, at, Math.min(Page.SIZE, (int) size - at));
        }
        ObjectRef baseRef = frames("base", base, 5000);
        ObjectRef pagesRef = frames("pages", pages, 3000);
        List<Chain.Layer> layers = List.of(new Chain.Layer("b2", pagesRef, BlockList.of(changed), size),
                new Chain.Layer("b1", baseRef, null, base.length));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Rebuild.Target t = new Rebuild.Target("base/1/2", layers, size, Checksum.of(expected), out, true);
        Rebuild.run(store, List.of(t), null);
        assertThat(t.matches()).as("checksum " + t.actual()).isTrue();
        assertThat(java.util.Arrays.mismatch(out.toByteArray(), expected)).isEqualTo(-1);
        for (int b = 0; b < blocks; b++) {
            int from = b * Page.SIZE;
            assertThat(t.blockHashes()[b]).as("block " + b).isEqualTo(BlockMap.hash(expected, from, (int) Math.min(Page.SIZE, size - from)));
        }
        // The proof can fail: one changed byte in the base's content rebuilds another checksum.
        base[Page.SIZE + 5] ^= 1;
        ObjectRef damaged = frames("base2", base, 5000);
        Rebuild.Target u = new Rebuild.Target("base/1/2", List.of(layers.get(0), new Chain.Layer("b1", damaged, null, base.length)), size,
                Checksum.of(expected), null, false);
        Rebuild.run(store, List.of(u), null);
        assertThat(u.matches()).isFalse();
    }
}
