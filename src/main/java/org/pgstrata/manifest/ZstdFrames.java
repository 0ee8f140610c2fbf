package org.pgstrata.manifest;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Large objects as a sequence of independent zstd frames of {@link #FRAME} bytes of content each,
 * so that they are compressed and decompressed by several threads at once.
 *
 * <p>A stream of concatenated zstd frames is a plain zstd stream (RFC 8878, section 3.1): the
 * {@code zstd} command and every decoder read it whole. Each frame is compressed on its own
 * ({@code ZSTD_compress}), so its header records its content size, and {@code
 * ZSTD_findFrameCompressedSize} finds where it ends without decompressing it: a reader can hand
 * each frame to another thread as soon as its bytes have arrived, and still deliver the content
 * in order, to be checksummed and written sequentially. A single stream frame (zstd's streaming
 * compressor, used for everything smaller, and by earlier versions for everything) has no content
 * size: {@link In} then decompresses it as one stream, as before.
 *
 * <p>Costs: 4 MiB frames compress about 0.2% larger than one stream (no match can reach across a
 * frame); memory is bounded by one frame per open reader and {@link #IN_FLIGHT} frames, over all
 * streams, in flight at once.
 */
public final class ZstdFrames {
    /** Content bytes per frame. */
    static final int FRAME = 4 << 20;
    /** The size a stream's first buffer starts at; it grows fourfold up to {@link #FRAME} as content comes. */
    static final int FIRST_CHUNK = 64 << 10;
    /** The largest frame a reader accepts: a frame's compressed bound, with room for its header. */
    static final int MAX_STORED_FRAME = (int) Zstd.compressBound(FRAME) + 1024;
    private static final int CORES = Runtime.getRuntime().availableProcessors();
    /**
     * Frames being compressed or decompressed, or waiting to be taken, over all streams: 8 to 16.
     * Not fewer on two cores: with 4, a restore's rebuild (two streams, the whole file and its
     * pages) and the other job's files took every one, and the writing thread decompressed its
     * frames itself (with 4 ahead per reader, 8 against 4 in flight: alternating restores of 5M
     * books, 8, 6 and 6 pairs, medians 7.4%, 5.6% and 2.5% faster; 35 MB more resident).
     */
    static final int IN_FLIGHT = Math.max(8, Math.min(16, 2 * CORES));
    /** Frames a reader keeps decompressed ahead of the one it reads: at least 4, so that a writer rarely waits on two cores. */
    private static final int AHEAD = Math.max(4, CORES);
    private static final Semaphore PERMITS = new Semaphore(IN_FLIGHT);
    private static final ExecutorService POOL = Executors.newFixedThreadPool(CORES, r -> {
        Thread t = new Thread(r, "pgstrata-zstd-frames");
        t.setDaemon(true);
        return t;
    });

    /** Frame-sized buffers, reused: a GiB read or written in fresh 4 MiB arrays grows the heap by hundreds of MB. */
    private static final java.util.concurrent.ConcurrentLinkedQueue<byte[]> BUFFERS = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private static final java.util.concurrent.atomic.AtomicInteger POOLED = new java.util.concurrent.atomic.AtomicInteger();

    private ZstdFrames() {
    }

    static byte[] buffer() {
        byte[] b = BUFFERS.poll();
        if (b == null) {
            return new byte[FRAME];
        }
        POOLED.decrementAndGet();
        return b;
    }

    static void recycle(byte[] b) {
        if (b != null && b.length == FRAME && POOLED.incrementAndGet() <= 2 * IN_FLIGHT + 4) {
            BUFFERS.add(b);
        } else if (b != null && b.length == FRAME) {
            POOLED.decrementAndGet();
        }
    }

    /** A frame handed to the pool (or done already), the permit it holds until it is taken, and its content's length. */
    record Pending(Future<byte[]> result, boolean permit, int length) {
        Pending(Future<byte[]> result, boolean permit) {
            this(result, permit, -1);
        }
    }

    /**
     * Compresses its content in frames of {@link #FRAME} bytes, up to {@code workers} at once,
     * and writes them in order. {@link #close} writes the last frame and leaves {@code out} open.
     */
    static final class Out extends ChunkingOutputStream {
        private final OutputStream out;
        private final int level;
        private final int workers;
        private final ArrayDeque<Pending> pending = new ArrayDeque<>();
        private boolean closed;

        Out(OutputStream out, int level, int workers) {
            // The first frame's buffer starts small and grows to a frame: most objects of an incremental are a few pages,
            // and a frame-sized buffer for each (with another taken at close) filled the heap with 4 MiB arrays.
            super(new byte[FIRST_CHUNK]);
            this.out = out;
            this.level = level;
            this.workers = Math.max(1, workers);
        }

        @Override
        protected void full() throws IOException {
            if (chunk.length < FRAME) {
                chunk = java.util.Arrays.copyOf(chunk, Math.min(FRAME, chunk.length * 4));
                return;
            }
            submit(false);
        }

        /** Hands the frame filled so far to be compressed; {@code last}: no more content follows (no new buffer). */
        private void submit(boolean last) throws IOException {
            byte[] frame = chunk;
            int length = fill;
            chunk = last ? null : buffer();
            fill = 0;
            // Twice as many frames as threads in flight: the writer's thread can be uploading one
            // (an S3 part is sent from it) while the others are being compressed.
            while (pending.size() >= 2 * workers) {
                writeOldest();
            }
            boolean permit = workers > 1 && PERMITS.tryAcquire();
            if (!permit) {
                // No thread to spare (or one worker): compressed here, in order.
                pending.add(new Pending(java.util.concurrent.CompletableFuture.completedFuture(compress(frame, length, level)), false));
                return;
            }
            try {
                pending.add(new Pending(POOL.submit(() -> compress(frame, length, level)), true));
            } catch (RuntimeException e) {
                PERMITS.release();
                throw e;
            }
        }

        private void writeOldest() throws IOException {
            Pending p = pending.poll();
            try {
                out.write(take(p));
            } finally {
                if (p.permit()) {
                    PERMITS.release();
                }
            }
        }

        @Override
        public void flush() throws IOException {
            // Frames are written whole; what is buffered waits for the frame to fill or for close.
        }

        /** Compresses and writes what is left; an empty content is one empty frame. */
        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (fill > 0 || pending.isEmpty()) {
                    submit(true);
                }
                while (!pending.isEmpty()) {
                    writeOldest();
                }
            } finally {
                drop(pending);
                recycle(chunk);
                chunk = null;
            }
            out.flush();
        }

        /** Gives up: waits for the frames in flight, writes nothing, and returns their permits and buffers. */
        void abort() {
            if (closed) {
                return;
            }
            closed = true;
            drop(pending);
            recycle(chunk);
            chunk = null;
        }
    }

    /** Where each thread compresses a frame before its bytes are copied out: one per thread, not one per frame. */
    private static final ThreadLocal<byte[]> COMPRESSED = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(FRAME)]);

    /** Compresses {@code src[0, length)} into a new array of its compressed size, and recycles {@code src}. */
    private static byte[] compress(byte[] src, int length, int level) {
        byte[] dst = COMPRESSED.get();
        long k;
        try {
            k = Zstd.compressByteArray(dst, 0, dst.length, src, 0, length, level);
        } finally {
            recycle(src);
        }
        if (Zstd.isError(k)) {
            throw new IllegalStateException("zstd cannot compress a frame: " + Zstd.getErrorName(k));
        }
        return java.util.Arrays.copyOf(dst, (int) k);
    }

    static byte[] take(Pending p) throws IOException {
        try {
            return p.result().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof Error err) {
                throw err; // the heap ran out (say), which is no damage of the object
            }
            throw new IOException(c.getMessage(), c);
        }
    }

    /** Waits for frames nobody will take (after a failure), and returns their permits. */
    private static void drop(ArrayDeque<Pending> pending) {
        for (Pending p; (p = pending.poll()) != null; ) {
            try {
                recycle(p.result().get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                // failed, and nobody asks
            }
            if (p.permit()) {
                PERMITS.release();
            }
        }
    }

    /**
     * Where the content of some frames is already at hand (a delta restore: blocks of the local
     * file whose hashes equal the backup's block map), so that those frames are read but not
     * decompressed. The reader's checksum of the whole content still decides: a substitute that
     * is wrong makes the content's checksum differ, and the caller fails.
     */
    public interface Substitute {
        /** The content at {@code [offset, offset + length)}, or null when the frame must be decompressed. */
        byte[] content(long offset, int length) throws IOException;
    }

    /**
     * Decompresses a zstd stream read from {@code stored}: frame by frame on several threads when
     * its first frame records its content size (written by {@link Out}), else as one stream.
     * Failures are {@link IOException}s naming what is wrong; the caller reports them as damage.
     */
    static final class In extends InputStream implements InPlace {
        private final InputStream stored;
        /**
         * Read ahead: compressed bytes not yet cut into frames. Small at first (most objects are
         * small: a restore opens one per file), doubled while a frame does not fit.
         */
        private byte[] raw;
        private int rawStart;
        private int rawEnd;
        private boolean storedEnded;
        private final ArrayDeque<Pending> pending = new ArrayDeque<>();
        /** Set when the stream is not framed: everything goes through zstd's stream decoder. */
        private InputStream whole;
        private boolean decided;
        private byte[] current;
        /** The content in {@link #current}: its first {@code currentLength} bytes. */
        private int currentLength;
        private int pos;
        private boolean closed;
        /** Content a frame need not be decompressed for (see {@link Substitute}); null: every frame is. */
        private final Substitute substitute;
        /** Where the next frame handed out starts in the content. */
        private long contentOffset;
        private final boolean streaming;
        /** What the last {@link #readInPlace} handed out: a frame's content, or {@link #scratch}. */
        private byte[] viewArray;
        private int viewOffset;
        /** Where an unframed stream is decoded into for {@link #readInPlace}. */
        private byte[] scratch;

        In(InputStream stored) {
            this(stored, null, -1);
        }

        In(InputStream stored, Substitute substitute) {
            this(stored, substitute, -1);
        }

        /**
         * @param storedHint the stored size, when known (a manifest's claim: only the first
         *                   buffer's size, which grows when the stream is longer); negative when not
         */
        In(InputStream stored, Substitute substitute, long storedHint) {
            this(stored, substitute, storedHint, false);
        }

        /**
         * @param streaming decode frames one after another with zstd's stream decoder, as if the
         *                  object were not framed: no frame read ahead or held whole (a few hundred
         *                  KiB, against up to three 4 MiB frames), on this thread only
         */
        In(InputStream stored, Substitute substitute, long storedHint, boolean streaming) {
            this.stored = stored;
            this.substitute = substitute;
            this.streaming = streaming;
            // One byte more than the stored size, so that its end is seen without growing; a bundle's
            // member of a few hundred bytes took 64 KiB, a third of an encrypted restore's allocations.
            this.raw = new byte[storedHint < 0 || storedHint >= 1 << 16 ? 1 << 16 : (int) Math.max(256, storedHint + 1)];
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int k = read(one, 0, 1);
            return k < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!decided) {
                decide();
            }
            if (whole != null) {
                return whole.read(b, off, len);
            }
            if (!advance()) {
                return -1;
            }
            int k = Math.min(len, currentLength - pos);
            System.arraycopy(current, pos, b, off, k);
            pos += k;
            return k;
        }

        @Override
        public int readInPlace(int max) throws IOException {
            if (max <= 0) {
                throw new IllegalArgumentException("max " + max);
            }
            if (!decided) {
                decide();
            }
            if (whole != null) {
                // One stream: zstd's decoder writes into an array of ours, which is where the bytes lie.
                scratch = InPlace.scratch(scratch, max);
                int k;
                do {
                    k = whole.read(scratch, 0, Math.min(max, scratch.length));
                } while (k == 0);
                viewArray = scratch;
                viewOffset = 0;
                return k;
            }
            if (!advance()) {
                return -1;
            }
            int k = Math.min(max, currentLength - pos);
            viewArray = current;
            viewOffset = pos;
            pos += k;
            return k;
        }

        @Override
        public byte[] array() {
            return viewArray;
        }

        @Override
        public int offset() {
            return viewOffset;
        }

        /**
         * Makes {@link #current} a frame with content left to read, taking the next one when it is
         * used up (recycling it: what {@link #readInPlace} handed out of it is no longer valid then);
         * false at the end.
         */
        private boolean advance() throws IOException {
            while (pos == currentLength) {
                // Given back first, so that the frame decompressed next can take its buffer.
                recycle(current);
                current = null;
                pos = 0;
                currentLength = 0;
                fill();
                if (pending.isEmpty()) {
                    return false;
                }
                Pending p = pending.poll();
                try {
                    current = take(p);
                    currentLength = p.length();
                } finally {
                    if (p.permit()) {
                        PERMITS.release();
                    }
                }
            }
            return true;
        }

        /**
         * Framed when the first frame's header records a content size of at most {@link #FRAME};
         * else one stream (the streaming compressor's single frame, or a large one-shot frame).
         */
        private void decide() throws IOException {
            decided = true;
            while (rawEnd - rawStart < 18 && more()) {
                // a frame header is at most 18 bytes
            }
            long size = rawEnd == rawStart ? -1 : contentSize(raw, rawStart, rawEnd - rawStart);
            if (streaming || size < 0 || size > FRAME) {
                InputStream head = new ByteArrayInputStream(raw, rawStart, rawEnd - rawStart);
                // SequenceInputStream closes each stream it finishes: the stored one stays open for the caller's check.
                InputStream rest = new java.io.FilterInputStream(stored) {
                    @Override
                    public void close() {
                    }
                };
                whole = new ZstdInputStreamNoFinalizer(new java.io.SequenceInputStream(head, rest));
            }
        }

        /** Reads more compressed bytes; false at the end of the stored stream. */
        private boolean more() throws IOException {
            if (storedEnded) {
                return false;
            }
            if (rawEnd == raw.length) {
                int have = rawEnd - rawStart;
                if (rawStart > 0 && have <= raw.length / 2) {
                    System.arraycopy(raw, rawStart, raw, 0, have);
                } else {
                    raw = java.util.Arrays.copyOfRange(raw, rawStart, rawStart + Math.max(raw.length * 2, have));
                }
                rawStart = 0;
                rawEnd = have;
            }
            int k = stored.read(raw, rawEnd, raw.length - rawEnd);
            if (k < 0) {
                storedEnded = true;
                return false;
            }
            rawEnd += k;
            return true;
        }

        /**
         * Cuts whole frames off the compressed bytes and hands them out, keeping a few in flight.
         * The frame the reader takes next is decompressed here when no thread is asked to; every
         * frame ahead of it holds a permit, until it is taken: decompressed here instead, it would
         * be ready no sooner and only be held (16 frames of 4 MiB ahead of each of 16 jobs on 16
         * cores, 1 GiB, ran a restore out of its 512 MiB heap).
         */
        private void fill() throws IOException {
            while (pending.size() < AHEAD) {
                boolean permit = !pending.isEmpty();
                if (permit && !PERMITS.tryAcquire()) {
                    return; // no thread to spare: the next frame is cut when the reader needs it
                }
                boolean handed = false;
                try {
                    byte[] frame = nextFrame();
                    if (frame == null) {
                        return;
                    }
                    long size = contentSize(frame, 0, frame.length);
                    if (isSkippable(frame)) {
                        continue;
                    }
                    if (size < 0 || size > FRAME) {
                        throw new IOException("a zstd frame " + (size < 0 ? "without a content size" : "of " + size + " bytes")
                                + " among frames of at most " + FRAME);
                    }
                    long at = contentOffset;
                    contentOffset += size;
                    byte[] known = substitute == null ? null : substitute.content(at, (int) size);
                    if (known != null) {
                        // Its compressed bytes were read (and go into the stored checksum); its content comes from elsewhere.
                        pending.add(new Pending(java.util.concurrent.CompletableFuture.completedFuture(known), permit, (int) size));
                    } else if (permit) {
                        pending.add(new Pending(POOL.submit(() -> decompress(frame, (int) size)), true, (int) size));
                    } else {
                        // The frame the reader waits for next: decompressed here.
                        byte[] content = decompress(frame, (int) size);
                        pending.add(new Pending(java.util.concurrent.CompletableFuture.completedFuture(content), false, (int) size));
                    }
                    handed = true;
                } finally {
                    if (permit && !handed) {
                        PERMITS.release();
                    }
                }
            }
        }

        /** The content size a frame header records; negative when it records none, or is no header. */
        private static long contentSize(byte[] b, int off, int len) {
            try {
                return Zstd.getFrameContentSize(b, off, len);
            } catch (ZstdException e) {
                return -2;
            }
        }

        private static boolean isSkippable(byte[] frame) {
            int magic = (frame[0] & 0xFF) | (frame[1] & 0xFF) << 8 | (frame[2] & 0xFF) << 16 | (frame[3] & 0xFF) << 24;
            return (magic & 0xFFFFFFF0) == 0x184D2A50;
        }

        /** The next frame's compressed bytes, or null at the end. */
        private byte[] nextFrame() throws IOException {
            while (true) {
                int have = rawEnd - rawStart;
                if (have > 0) {
                    String error;
                    try {
                        long k = Zstd.findFrameCompressedSize(raw, rawStart, have);
                        if (!Zstd.isError(k)) {
                            byte[] frame = java.util.Arrays.copyOfRange(raw, rawStart, rawStart + (int) k);
                            rawStart += (int) k;
                            return frame;
                        }
                        error = Zstd.getErrorName(k);
                    } catch (ZstdException e) {
                        error = e.getMessage(); // zstd-jni throws where zstd returns an error (here: not the whole frame yet)
                    }
                    if (have > MAX_STORED_FRAME) {
                        throw new IOException("a zstd frame of more than " + MAX_STORED_FRAME + " bytes, or not a frame (" + error + ")");
                    }
                }
                if (!more()) {
                    if (rawEnd > rawStart) {
                        throw new IOException("the stream ends inside a zstd frame (" + (rawEnd - rawStart) + " bytes of it)");
                    }
                    return null;
                }
            }
        }

        /**
         * One frame's content, of the size its header records, at the start of a frame buffer.
         * In a framed stream every frame records one of at most {@link #FRAME} bytes; any other
         * is damage (or not pgstrata's), refused before anything is decompressed into memory.
         */
        private static byte[] decompress(byte[] frame, int size) throws IOException {
            // A small frame (a stream's first, or its last; all of a small page set's) gets an array of its own size: one
            // of the pool's 4 MiB for each layer of a long chain, each a few pages, took a rebuild's heap by hundreds of MB.
            byte[] out = size > FRAME / 4 ? buffer() : new byte[size];
            long k;
            try {
                k = Zstd.decompressByteArray(out, 0, size, frame, 0, frame.length);
            } catch (ZstdException e) {
                recycle(out);
                throw new IOException("a zstd frame cannot be decompressed: " + e.getMessage(), e);
            }
            if (Zstd.isError(k) || k != size) {
                recycle(out);
            }
            if (Zstd.isError(k)) {
                throw new IOException("a zstd frame cannot be decompressed: " + Zstd.getErrorName(k));
            }
            if (k != size) {
                throw new IOException("a zstd frame holds " + k + " bytes, its header says " + size);
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            drop(pending);
            recycle(current);
            current = null;
            try {
                if (whole != null) {
                    whole.close();
                }
            } finally {
                stored.close();
            }
        }
    }
}
