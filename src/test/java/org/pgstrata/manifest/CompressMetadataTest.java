package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Manifests compressed into a small buffer are the frames zstd writes with its worst-case one: older readers read them. */
class CompressMetadataTest {
    @Test
    void compressMetadata_ofText_isZstdsOwnFrame_withItsContentSize() {
        StringBuilder json = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            json.append("{\"path\":\"base/5/").append(160000 + i).append("\",\"size\":8192,\"mode\":\"rw-------\"},");
        }
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        byte[] small = Repository.compressMetadata(text);
        assertThat(small).isEqualTo(com.github.luben.zstd.Zstd.compress(text, 9));
        assertThat(com.github.luben.zstd.Zstd.getFrameContentSize(small)).isEqualTo(text.length);
    }

    @Test
    void compressMetadata_ofIncompressibleBytes_fallsBackToTheWorstCaseBuffer() {
        byte[] noise = new byte[100_000];
        new Random(1).nextBytes(noise);
        byte[] out = Repository.compressMetadata(noise);
        assertThat(com.github.luben.zstd.Zstd.decompress(out, noise.length)).isEqualTo(noise);
    }
}
