package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    @Test
    void nativeJavaAndStreamingForms_agree() {
        Random r = new Random(3);
        for (int size : new int[] {0, 1, 31, 32, 33, 8192, 1_000_003}) {
            byte[] b = new byte[size];
            r.nextBytes(b);
            Checksum streaming = new Checksum();
            for (int off = 0; off < size; off += 4096) {
                streaming.update(b, off, Math.min(4096, size - off));
            }
            assertThat(Checksum.ofLean(b)).isEqualTo(Checksum.of(b)).isEqualTo(streaming.hex()).hasSize(16);
        }
        assertThat(Checksum.of(new byte[0])).isEqualTo(Checksum.EMPTY);
    }

    @Test
    void aFlippedBit_changesTheChecksum() {
        byte[] b = new byte[8192];
        String before = Checksum.of(b);
        b[4000] ^= 1;
        assertThat(Checksum.of(b)).isNotEqualTo(before);
    }
}
