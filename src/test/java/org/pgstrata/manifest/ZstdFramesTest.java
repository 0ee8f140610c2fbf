package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Large objects are written as independent zstd frames ({@link ZstdFrames}) and read back frame by
 * frame on several threads: the content must come back byte for byte, in order, at every frame
 * boundary; the object must stay a plain zstd stream; objects of one stream frame (smaller ones,
 * and everything earlier versions wrote) must read as before; damage must be reported, not read.
 */
class ZstdFramesTest {
    @TempDir
    Path dir;

    /** Compressible like table data, with some incompressible stretches. */
    static byte[] content(int size, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        int i = 0;
        while (i < size) {
            byte[] word = ("row " + r.nextInt(1_000_000) + " title " + r.nextInt(5000) + ";").getBytes();
            if (r.nextInt(50) == 0) {
                word = new byte[1 + r.nextInt(3000)];
                r.nextBytes(word);
            }
            int k = Math.min(word.length, size - i);
            System.arraycopy(word, 0, b, i, k);
            i += k;
        }
        return b;
    }

    private static ObjectStore.Stored write(ObjectStore store, String key, byte[] data, int workers) throws Exception {
        try (ObjectStore.PendingObject p = workers == 0 ? store.create("b1", key, Compression.ZSTD) : store.create("b1", key, Compression.ZSTD, workers)) {
            // in uneven pieces, as the copier writes
            Random r = new Random(data.length);
            int at = 0;
            while (at < data.length) {
                int k = Math.min(data.length - at, 1 + r.nextInt(300_000));
                p.content().write(data, at, k);
                at += k;
            }
            return p.finish();
        }
    }

    @Test
    void framedObjects_readBackByteForByte_atEveryFrameBoundary_andArePlainZstd() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        int f = ZstdFrames.FRAME;
        int[] sizes = {0, 1, f - 1, f, f + 1, 2 * f, 7 * f / 2 + 12345};
        for (int size : sizes) {
            byte[] data = content(size, size);
            ObjectStore.Stored s = write(store, "backup/b1/data/f" + size + ".zst", data, size % 2 == 0 ? 2 : 1); // one thread, or two
            assertThat(s.contentBytes()).isEqualTo(size);
            assertThat(s.contentChecksum()).isEqualTo(Checksum.of(data));
            byte[] back;
            try (InputStream in = store.openContent(s.ref(), size, s.contentChecksum())) {
                back = in.readAllBytes();
            }
            assertThat(back).as("size " + size).isEqualTo(data);
            // Several frames, each with its content size; and any zstd decoder reads the whole.
            byte[] stored = Files.readAllBytes(dir.resolve("backup/b1/data/f" + size + ".zst"));
            int frames = 0;
            for (int at = 0; at < stored.length; frames++) {
                long k = Zstd.findFrameCompressedSize(stored, at, stored.length - at);
                assertThat(Zstd.isError(k)).isFalse();
                assertThat(Zstd.getFrameContentSize(stored, at, stored.length - at)).isBetween(0L, (long) f);
                at += (int) k;
            }
            assertThat(frames).as("frames for size " + size).isEqualTo(Math.max(1, (size + f - 1) / f));
            try (InputStream plain = new ZstdInputStreamNoFinalizer(new ByteArrayInputStream(stored))) {
                assertThat(plain.readAllBytes()).isEqualTo(data);
            }
        }
    }

    @Test
    void streamFrameObjects_stillRead() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = content(3 * ZstdFrames.FRAME + 7, 9);
        ObjectStore.Stored s = write(store, "backup/b1/data/one.zst", data, 0);
        byte[] stored = Files.readAllBytes(dir.resolve("backup/b1/data/one.zst"));
        assertThat(Zstd.findFrameCompressedSize(stored, 0, stored.length)).isEqualTo(stored.length);
        assertThat(Zstd.getFrameContentSize(stored, 0, stored.length)).isNegative(); // no content size: read as one stream
        assertThat(store.readAll(s.ref())).isEqualTo(data);
        // A one-shot frame larger than a frame of ours (a large put) is one stream too.
        byte[] big = content(ZstdFrames.FRAME * 2, 4);
        byte[] oneShot = Zstd.compress(big, 3);
        Files.write(dir.resolve("backup/b1/data/big.zst"), oneShot);
        ObjectRef ref = new ObjectRef("b1", "backup/b1/data/big.zst", "zstd", oneShot.length, Checksum.of(oneShot), null);
        assertThat(store.readAll(ref)).isEqualTo(big);
    }

    @Test
    void aDamagedOrTruncatedFramedObject_isReportedAsDamage() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        byte[] data = content(3 * ZstdFrames.FRAME, 11);
        ObjectStore.Stored s = write(store, "backup/b1/data/d.zst", data, 2);
        Path file = dir.resolve("backup/b1/data/d.zst");
        byte[] stored = Files.readAllBytes(file);

        // A flipped byte inside the second frame.
        long first = Zstd.findFrameCompressedSize(stored, 0, stored.length);
        byte[] flipped = stored.clone();
        flipped[(int) first + 200] ^= 0x40;
        Files.write(file, flipped);
        assertThatThrownBy(() -> store.readAll(s.ref())).isInstanceOf(CorruptObjectException.class);

        // Cut inside the last frame: the stored size and checksum say so, not a silent short read.
        Files.write(file, java.util.Arrays.copyOf(stored, stored.length - 100));
        assertThatThrownBy(() -> store.readAll(s.ref())).isInstanceOf(CorruptObjectException.class);

        // Intact again: reads.
        Files.write(file, stored);
        assertThat(store.readAll(s.ref())).isEqualTo(data);
    }

    /**
     * A frame whose decompression ran out of heap on another thread is the heap's failure, not the
     * object's: it must reach the command as the Error (exit 46), not as an IOException that the
     * object store reports as damage (exit 15), which it once did.
     */
    @Test
    void aFrameThatRanOutOfHeap_isNotReportedAsAnIoFailure() {
        java.util.concurrent.CompletableFuture<byte[]> failed = new java.util.concurrent.CompletableFuture<>();
        failed.completeExceptionally(new OutOfMemoryError("Java heap space"));
        assertThatThrownBy(() -> ZstdFrames.take(new ZstdFrames.Pending(failed, false, 0))).isInstanceOf(OutOfMemoryError.class);
        java.util.concurrent.CompletableFuture<byte[]> broken = new java.util.concurrent.CompletableFuture<>();
        broken.completeExceptionally(new java.io.IOException("a zstd frame cannot be decompressed"));
        assertThatThrownBy(() -> ZstdFrames.take(new ZstdFrames.Pending(broken, false, 0))).isInstanceOf(java.io.IOException.class);
    }
    /**
     * The reader's first buffer is sized from the stored size the manifest claims; a claim that is
     * wrong (smaller, zero, larger, or absent) only changes how it grows, never what is read.
     */
    @Test
    void theStoredSizeHint_isOnlyAHint() throws Exception {
        for (int size : new int[] {0, 100, 70_000, 2 * ZstdFrames.FRAME + 3}) {
            byte[] data = content(size, size);
            java.io.ByteArrayOutputStream stored = new java.io.ByteArrayOutputStream();
            try (ZstdFrames.Out out = new ZstdFrames.Out(stored, 3, 2)) {
                out.write(data);
            }
            byte[] s = stored.toByteArray();
            for (long hint : new long[] {-1, 0, 1, s.length - 1, s.length, s.length + 1, 10L * s.length, Long.MAX_VALUE}) {
                try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(s), null, hint)) {
                    assertThat(java.util.Arrays.mismatch(in.readAllBytes(), data)).as("content of " + size + " bytes, hint " + hint).isEqualTo(-1);
                }
            }
        }
    }
}
