package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What many framed readers at once hold: a restore reads one object per job (and a rebuild one
 * per layer), and the default number of jobs is the number of cores. Only frames decompressed by
 * the pool's threads, which hold one of {@link ZstdFrames#IN_FLIGHT} permits, may wait ahead of a
 * reader; a reader that finds no permit free decompresses the frame it needs when it needs it, so
 * that the heap a restore needs does not grow with jobs times cores.
 */
class ZstdFramesMemoryTest {
    /**
     * Sixteen cores (as the JVM is told), sixteen readers of 48 MiB of content each, in step so
     * that all of them are open at once, in the launcher's heap of 512 MiB: each reader held its
     * frame and 16 decompressed ahead (68 MiB, over 1 GiB for the sixteen), and the child JVM ran
     * out of heap.
     */
    @Test
    void sixteenReadersOnSixteenCores_fitTheLaunchersHeap() throws Exception {
        String out = ChildJvm.run(List.of("-Xmx512m", "-XX:ActiveProcessorCount=16"), Readers.class, "16", "12");
        assertThat(out).contains("ok 16 readers");
    }

    /** The child JVM's work: args[0] readers in step over one object of args[1] frames, each checking the content it read. */
    public static final class Readers {
        public static void main(String[] args) throws Exception {
            int readers = Integer.parseInt(args[0]);
            int frames = Integer.parseInt(args[1]);
            byte[] content = ZstdFramesTest.content(frames * ZstdFrames.FRAME, 7);
            String expected = Checksum.of(content);
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (ZstdFrames.Out o = new ZstdFrames.Out(bo, 1, 2)) {
                o.write(content);
            }
            content = null;
            byte[] stored = bo.toByteArray();
            bo = null;
            CyclicBarrier step = new CyclicBarrier(readers);
            ExecutorService ex = Executors.newFixedThreadPool(readers);
            try {
                List<Future<String>> got = new ArrayList<>();
                for (int r = 0; r < readers; r++) {
                    got.add(ex.submit(() -> {
                        Checksum digest = new Checksum();
                        byte[] buf = new byte[1 << 17];
                        try {
                            read(stored, frames, step, digest, buf);
                        } catch (Throwable t) {
                            step.reset(); // the others stop waiting for this one
                            throw t;
                        }
                        return digest.hex();
                    }));
                }
                for (Future<String> g : got) {
                    if (!g.get().equals(expected)) {
                        throw new IllegalStateException("a reader read other content");
                    }
                }
            } finally {
                ex.shutdownNow();
            }
            System.out.println("ok " + readers + " readers");
        }

        private static void read(byte[] stored, int frames, CyclicBarrier step, Checksum digest, byte[] buf) throws Exception {
            try (InputStream in = new ZstdFrames.In(new ByteArrayInputStream(stored))) {
                for (int f = 0; f < frames; f++) {
                    // A frame's worth, then wait for the others: every reader is open and in its object at once.
                    for (int left = ZstdFrames.FRAME; left > 0; ) {
                        int n = in.readNBytes(buf, 0, Math.min(buf.length, left));
                        digest.update(buf, 0, n);
                        left -= n;
                    }
                    step.await(2, TimeUnit.MINUTES);
                }
                if (in.read() != -1) {
                    throw new IllegalStateException("content after " + frames + " frames");
                }
            }
        }
    }
}
