package org.pgstrata.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.manifest.BlockMap;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.storage.fs.FileStorage;

/**
 * Delta restore's frame substitution ({@link DeltaTarget.LocalFrames}) against local files that
 * differ from the backup's in the ways a real directory can: longer, shorter, a changed short last
 * block, a block map of another size; each restored through the object store and {@link
 * DeltaTarget.DeltaSink} as a restore writes it, the result must be the backup's bytes. And a
 * block whose XXH64 equals the backup's while its bytes differ (built here, XXH64 is no
 * cryptographic hash) must not pass the final check.
 */
class DeltaLocalFramesTest {
    private static final int F = 4 << 20;
    private static final int B = 8192;

    @TempDir
    Path dir;

    private static byte[] content(int size, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i += 64) {
            byte[] w = ("page " + r.nextInt(1000) + " row " + r.nextInt(100_000) + "\n").getBytes();
            System.arraycopy(w, 0, b, i, Math.min(w.length, size - i));
        }
        return b;
    }

    private ObjectStore.Stored store(ObjectStore store, byte[] data) throws Exception {
        try (ObjectStore.PendingObject p = store.create("b1", "backup/b1/data/rel.zst", Compression.ZSTD, 2)) {
            p.content().write(data);
            return p.finish();
        }
    }

    /** Restores {@code local} over itself from the backup's object, as PhysicalRestore.writeFile does; returns the digest's result. */
    private static String restore(ObjectStore store, ObjectStore.Stored s, Path local, long[] hashes, long size, String form,
            AtomicLong reused) throws Exception {
        Checksum digest = Checksum.like(form);
        try (FileChannel ch = FileChannel.open(local, StandardOpenOption.READ, StandardOpenOption.WRITE);
                InputStream in = store.open(s.ref(), new DeltaTarget.LocalFrames(local, hashes, size, reused))) {
            DeltaTarget.DeltaSink sink = new DeltaTarget.DeltaSink(ch);
            byte[] buf = new byte[1 << 17];
            for (int n; (n = in.read(buf)) >= 0; ) {
                digest.update(buf, 0, n);
                sink.write(buf, 0, n);
            }
            sink.finish();
        }
        return digest.hex();
    }

    @Test
    void localFilesOfEveryShape_areRestoredToTheBackupsBytes_andOnlyEqualFramesAreReused() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        int size = 2 * F + 3 * B + 100; // a short last frame, a short last block
        byte[] backup = content(size, 1);
        ObjectStore.Stored s = store(store, backup);
        long[] map = BlockMap.hashAll(backup, size);
        Path local = dir.resolve("local");

        record Case(String name, byte[] local, long[] map, long reused) {
        }
        byte[] longer = Arrays.copyOf(backup, size + 5000);
        byte[] shorter = Arrays.copyOf(backup, size - 1);
        byte[] lastByte = backup.clone();
        lastByte[size - 1] ^= 1;
        byte[] firstFrame = backup.clone();
        firstFrame[F - 1] ^= 1;
        byte[] otherSizeLocal = Arrays.copyOf(backup, size + B); // another backup's file, a block longer
        long[] otherSizeMap = BlockMap.hashAll(otherSizeLocal, otherSizeLocal.length);
        long[] shortMap = Arrays.copyOf(map, (int) (F / B) + 3);
        Case[] cases = {
            new Case("equal", backup.clone(), map, size),
            new Case("longer", longer, map, size),
            new Case("shorter by a byte", shorter, map, 2L * F),
            new Case("last byte differs", lastByte, map, 2L * F),
            new Case("first frame differs", firstFrame, map, F + 3 * B + 100),
            new Case("map of a file a block longer", otherSizeLocal, otherSizeMap, 2L * F),
            new Case("map too short", backup.clone(), shortMap, F),
            new Case("empty local", new byte[0], map, 0),
        };
        for (Case c : cases) {
            Files.write(local, c.local());
            AtomicLong reused = new AtomicLong();
            String got = restore(store, s, local, c.map(), size, s.contentChecksum(), reused);
            assertThat(got).as(c.name()).isEqualTo(s.contentChecksum());
            assertThat(Files.readAllBytes(local)).as(c.name()).isEqualTo(backup);
            assertThat(reused.get()).as(c.name()).isEqualTo(c.reused());
        }
        // Only whole, block-aligned frames, within the file the map describes.
        Files.write(local, backup);
        DeltaTarget.LocalFrames lf = new DeltaTarget.LocalFrames(local, map, size, new AtomicLong());
        assertThat(lf.content(100, 8192)).isNull();
        assertThat(lf.content(0, size + 1)).isNull();
        assertThat(lf.content(size - 100, 100)).isEqualTo(Arrays.copyOfRange(backup, size - 100, size));
        assertThat(lf.content(size - 100 - B, 100 + B)).isEqualTo(Arrays.copyOfRange(backup, size - 100 - B, size));
        assertThat(lf.content(0, 100)).as("a short piece of a full block is no block of the map").isNull();
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, local);
        assertThat(new DeltaTarget.LocalFrames(link, map, size, new AtomicLong()).content(0, F)).isNull();
    }

    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;

    private static long round(long acc, long input) {
        return Long.rotateLeft(acc + input * P2, 31) * P1;
    }

    private static long inverse(long odd) {
        long x = odd;
        for (int i = 0; i < 6; i++) {
            x *= 2 - odd * x;
        }
        return x;
    }

    /**
     * A block of another content with the same XXH64 (seed 0): XXH64's lane round is invertible,
     * so a change of lane 0's first word is undone by its second.
     */
    static byte[] collide(byte[] block, long change) {
        ByteBuffer b = ByteBuffer.wrap(block.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long v1 = P1 + P2; // lane 0's start with seed 0
        long x1 = b.getLong(0);
        long x2 = b.getLong(32);
        long acc2 = round(round(v1, x1), x2);
        long y1 = x1 ^ change;
        long acc1 = round(v1, y1);
        long y2 = (Long.rotateRight(acc2 * inverse(P1), 31) - acc1) * inverse(P2);
        b.putLong(0, y1);
        b.putLong(32, y2);
        return b.array();
    }

    @Test
    void aLocalBlockThatOnlyHashesLikeTheBackups_failsTheFinalCheck_whateverTheChecksumsForm() throws Exception {
        ObjectStore store = new ObjectStore(new FileStorage(dir));
        int size = F + 5 * B;
        byte[] backup = content(size, 2);
        ObjectStore.Stored s = store(store, backup);
        long[] map = BlockMap.hashAll(backup, size);
        // A planted block 1 with the backup's block hash. The change is carried through XXH64's lane with
        // high probability whatever the lane's state, so most changes collide the whole file's XXH64 too
        // (XXH64 is against damage, not tampering); one that does not shows the plain check at work.
        byte[] localBytes = null;
        for (long change = 1; localBytes == null; change = change * 3 + 0x9E37_79B9_7F4A_7C15L) {
            byte[] planted = collide(Arrays.copyOfRange(backup, B, 2 * B), change);
            assertThat(planted).isNotEqualTo(Arrays.copyOfRange(backup, B, 2 * B));
            assertThat(BlockMap.hash(planted, 0, B)).isEqualTo(map[1]); // the premise: a real XXH64 collision
            byte[] candidate = backup.clone();
            System.arraycopy(planted, 0, candidate, B, B);
            if (!Checksum.of(candidate).equals(s.contentChecksum())) {
                localBytes = candidate;
            }
        }
        Path local = dir.resolve("local");

        // Plain checksum (the whole content's XXH64): the planted block is caught.
        Files.write(local, localBytes);
        String plain = restore(store, s, local, map, size, s.contentChecksum(), new AtomicLong());
        assertThat(plain).isNotEqualTo(s.contentChecksum());

        // Block form (the XXH64 of the blocks' XXH64s, as summarized backups record): computed from the
        // same block hashes that chose the frame, it cannot see the planted block; such a file must not
        // have frames substituted at all.
        String blockForm = Checksum.ofBlockHashes(map);
        Files.write(local, localBytes);
        String got = restore(store, s, local, map, size, blockForm, new AtomicLong());
        boolean wrongBytesLeft = !Arrays.equals(Files.readAllBytes(local), backup);
        assertThat(wrongBytesLeft && got.equals(blockForm))
                .as("block-form check passes while the file keeps the planted block")
                .isTrue();
        assertThat(DeltaTarget.LocalFrames.checkedBy(blockForm)).isFalse();
        assertThat(DeltaTarget.LocalFrames.checkedBy(s.contentChecksum())).isTrue();
    }
}
