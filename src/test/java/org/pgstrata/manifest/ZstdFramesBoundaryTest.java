package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The first buffer of a framed stream starts small and grows to a frame: frames must still hold
 * exactly {@link ZstdFrames#FRAME} bytes each but the last (a delta restore substitutes whole
 * frames by their offset), whatever the sizes of the writes, around each size the buffer passes.
 */
class ZstdFramesBoundaryTest {
    @Test
    void everyFrameButTheLastHoldsExactlyAFrame_forContentAroundEachBufferSize() throws Exception {
        int f = ZstdFrames.FRAME;
        int c = ZstdFrames.FIRST_CHUNK;
        int[] sizes = {0, 1, c - 1, c, c + 1, 4 * c, 4 * c + 1, 16 * c + 1, f - 1, f, f + 1, 2 * f, 2 * f + c};
        java.util.Random random = new java.util.Random(5);
        for (int size : sizes) {
            for (int workers : new int[] {1, 3}) {
                byte[] data = new byte[size];
                random.nextBytes(data);
                ByteArrayOutputStream stored = new ByteArrayOutputStream();
                ZstdFrames.Out out = new ZstdFrames.Out(stored, 1, workers);
                // Writes of odd sizes, single bytes among them, so that they straddle every buffer's end.
                int at = 0;
                while (at < size) {
                    int n = Math.min(size - at, random.nextInt(5) == 0 ? 1 : random.nextInt(3 * c));
                    if (n == 1) {
                        out.write(data[at]);
                    } else {
                        out.write(data, at, n);
                    }
                    at += n;
                }
                out.close();

                byte[] bytes = stored.toByteArray();
                List<Long> contents = new ArrayList<>();
                ByteArrayOutputStream back = new ByteArrayOutputStream();
                for (int off = 0; off < bytes.length; ) {
                    long k = Zstd.findFrameCompressedSize(bytes, off, bytes.length - off);
                    byte[] frame = java.util.Arrays.copyOfRange(bytes, off, off + (int) k);
                    long content = Zstd.getFrameContentSize(frame);
                    contents.add(content);
                    back.write(Zstd.decompress(frame, (int) content));
                    off += (int) k;
                }
                String what = size + " bytes, " + workers + " workers";
                assertThat(back.toByteArray()).as(what).isEqualTo(data);
                int frames = Math.max(1, (size + f - 1) / f);
                assertThat(contents).as(what).hasSize(frames);
                for (int i = 0; i < frames - 1; i++) {
                    assertThat(contents.get(i)).as(what + ", frame " + i).isEqualTo(f);
                }
                assertThat(contents.get(frames - 1)).as(what + ", last frame").isEqualTo(size - (long) (frames - 1) * f);
            }
        }
    }
}
