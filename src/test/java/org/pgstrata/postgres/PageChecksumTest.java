package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The lane-at-a-time checksum against the algorithm as checksum_impl.h states it (one pass over
 * the page, an array of 32 sums), on random pages at odd offsets, with pd_checksum's bytes and the
 * block number varied. Pages PostgreSQL wrote itself are checked in FullBackupRoundTripTest.
 */
class PageChecksumTest {
    private static final int[] SEEDS = {
        0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
        0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
        0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
        0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756
    };

    private static int reference(byte[] page, int off, long block) {
        ByteBuffer b = ByteBuffer.wrap(page, off, Page.SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        int[] sums = SEEDS.clone();
        for (int i = 0; i < Page.SIZE / 128; i++) {
            for (int j = 0; j < 32; j++) {
                int word = b.getInt((i * 32 + j) * 4);
                if (i == 0 && j == 2) {
                    word &= 0xFFFF0000;
                }
                int tmp = sums[j] ^ word;
                sums[j] = tmp * 16777619 ^ (tmp >>> 17);
            }
        }
        int result = 0;
        for (int j = 0; j < 32; j++) {
            for (int round = 0; round < 2; round++) {
                int tmp = sums[j];
                sums[j] = tmp * 16777619 ^ (tmp >>> 17);
            }
            result ^= sums[j];
        }
        result ^= (int) block;
        return (int) (Integer.toUnsignedLong(result) % 65535) + 1;
    }

    @Test
    void laneAtATime_equalsTheOnePassForm_onRandomPagesOffsetsAndBlocks() {
        SplittableRandom random = new SplittableRandom(20261203);
        byte[] buffer = new byte[3 * Page.SIZE + 7];
        for (int n = 0; n < 2000; n++) {
            random.nextBytes(buffer);
            int off = random.nextInt(buffer.length - Page.SIZE + 1);
            long block = n < 1000 ? random.nextInt(1 << 18) : random.nextLong() & 0xFFFFFFFFL;
            int expected = reference(buffer, off, block);
            assertThat(PageChecksum.compute(buffer, off, block)).as("page %d at %d, block %d", n, off, block).isEqualTo(expected);
            // pd_checksum's own bytes (8 and 9) do not count; any other byte does.
            buffer[off + 8] ^= (byte) 0x5A;
            buffer[off + 9] ^= (byte) 0xA5;
            assertThat(PageChecksum.compute(buffer, off, block)).isEqualTo(expected);
            int other = 10 + random.nextInt(Page.SIZE - 10);
            buffer[off + other] ^= (byte) (1 << random.nextInt(8));
            assertThat(reference(buffer, off, block)).isEqualTo(PageChecksum.compute(buffer, off, block));
        }
        assertThat(PageChecksum.compute(buffer, 0, 1)).isNotEqualTo(PageChecksum.compute(buffer, 0, 2));
    }
}
