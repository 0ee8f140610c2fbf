package org.pgstrata.postgres;

/**
 * PostgreSQL's data page checksum (storage/checksum_impl.h): 32 interleaved FNV-1a-like lanes
 * over the page as little-endian 32-bit words with pd_checksum taken as zero, two extra rounds
 * of zeros, the lanes folded by XOR, the block number mixed in, and the result reduced to
 * 1..65535. The block number is the block's number within the whole relation fork, not within
 * its 1 GiB segment file.
 */
public final class PageChecksum {
    private static final int LANES = 32;
    private static final int PRIME = 16777619;
    private static final int[] SEEDS = {
        0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
        0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
        0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
        0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756
    };

    private static final java.lang.invoke.VarHandle LE_INT =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    private PageChecksum() {
    }

    public static int compute(byte[] page, int off, long blockNumber) {
        int[] sums = SEEDS.clone();
        int rows = Page.SIZE / (4 * LANES);
        for (int i = 0; i < rows; i++) {
            int base = off + i * LANES * 4;
            for (int j = 0; j < LANES; j++) {
                int word = (int) LE_INT.get(page, base + j * 4);
                if (i == 0 && j == 2) {
                    // pd_checksum (the low half of this word) counts as zero; pd_flags stays.
                    word &= 0xFFFF0000;
                }
                int tmp = sums[j] ^ word;
                sums[j] = tmp * PRIME ^ (tmp >>> 17);
            }
        }
        for (int round = 0; round < 2; round++) {
            for (int j = 0; j < LANES; j++) {
                sums[j] = mix(sums[j], 0);
            }
        }
        int result = 0;
        for (int s : sums) {
            result ^= s;
        }
        result ^= (int) blockNumber;
        return (int) (Integer.toUnsignedLong(result) % 65535) + 1;
    }

    private static int mix(int sum, int value) {
        int tmp = sum ^ value;
        return tmp * PRIME ^ (tmp >>> 17);
    }

    /** True when the stored checksum matches; new (all-zero header) pages always pass. */
    public static boolean verify(byte[] page, int off, long blockNumber) {
        if (Page.isNew(page, off)) {
            return true;
        }
        return compute(page, off, blockNumber) == Page.storedChecksum(page, off);
    }
}
