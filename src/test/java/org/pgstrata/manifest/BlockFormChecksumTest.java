package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The block form of a content checksum: computed from the block map's hashes, or streamed over the bytes, it is the same. */
class BlockFormChecksumTest {

    @Test
    void streamedInAnyPiecesEqualsTheOneFromBlockHashes() {
        Random random = new Random(16);
        for (int size : new int[] {0, 1, 8191, 8192, 8193, 3 * 8192, 5 * 8192 + 17}) {
            byte[] content = new byte[size];
            random.nextBytes(content);
            String fromHashes = Checksum.ofBlockHashes(BlockMap.hashAll(content, size));

            Checksum streamed = Checksum.like(fromHashes);
            int off = 0;
            while (off < size) {
                int n = Math.min(size - off, 1 + random.nextInt(12_000));
                streamed.update(content, off, n);
                off += n;
            }
            assertThat(streamed.hex()).as("size %d", size).isEqualTo(fromHashes).startsWith(Checksum.BLOCKS_PREFIX);
            assertThat(Checksum.like(Checksum.of(content)).getClass()).isEqualTo(Checksum.class);
        }
    }

    @Test
    void aChangedByteOrABlockOrderChangesIt() {
        byte[] content = new byte[4 * 8192];
        new Random(7).nextBytes(content);
        String before = Checksum.ofBlockHashes(BlockMap.hashAll(content, content.length));
        content[3 * 8192 + 100] ^= 1;
        assertThat(Checksum.ofBlockHashes(BlockMap.hashAll(content, content.length))).isNotEqualTo(before);

        long[] hashes = BlockMap.hashAll(content, content.length);
        long[] swapped = {hashes[1], hashes[0], hashes[2], hashes[3]};
        assertThat(Checksum.ofBlockHashes(swapped)).isNotEqualTo(Checksum.ofBlockHashes(hashes));
        // and a plain checksum never equals a block-form one
        assertThat(Checksum.of(content)).doesNotStartWith(Checksum.BLOCKS_PREFIX);
    }
}
