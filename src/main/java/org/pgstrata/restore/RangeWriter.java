package org.pgstrata.restore;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The content of one large file, written by several threads. The thread that produces the content
 * (decompressing it, or rebuilding it from its layers, and checksumming it in order, as for any
 * other file) fills chunks and hands each full chunk to a pool, which writes it at its offset with a
 * positional write; the producer goes on with the next chunk meanwhile. A compressed stream cannot
 * be entered in the middle, so the producing stays on one thread; what moves off it is the copy
 * into the page cache, which for a file of a GiB is a good part of its time.
 *
 * <p>A bounded number of chunks is in flight (memory does not grow with the file); {@link #flush}
 * waits until every chunk is written and rethrows the first write that failed; {@link #close}
 * waits for the writes in flight too, so that nothing writes after a failed restore has cleaned up.
 */
final class RangeWriter extends OutputStream {
    /** Bytes per chunk: large enough that a handoff costs nothing beside its write, small enough that a few are cheap. */
    static final int CHUNK = 4 << 20;

    private final FileChannel ch;
    private final ExecutorService pool;
    private final BlockingQueue<ByteBuffer> free;
    private final int buffers;
    private final AtomicReference<Throwable> failed = new AtomicReference<>();
    private ByteBuffer current;
    private long pos;

    /** @param writers how many chunks may be written at once besides the one being filled */
    RangeWriter(FileChannel ch, ExecutorService pool, int writers) {
        this.ch = ch;
        this.pool = pool;
        this.buffers = Math.max(1, writers) + 1;
        this.free = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) {
            free.add(ByteBuffer.allocateDirect(CHUNK));
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (current == null) {
                current = take();
            }
            int n = Math.min(len, current.remaining());
            current.put(b, off, n);
            off += n;
            len -= n;
            if (!current.hasRemaining()) {
                submit();
            }
        }
    }

    private ByteBuffer take() throws IOException {
        ByteBuffer b;
        try {
            b = free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
        rethrow();
        return b;
    }

    private void submit() {
        ByteBuffer b = current.flip();
        current = null;
        long at = pos;
        pos += b.remaining();
        pool.execute(() -> {
            try {
                while (b.hasRemaining()) {
                    ch.write(b, at + b.position());
                }
            } catch (Throwable t) {
                failed.compareAndSet(null, t);
            } finally {
                b.clear();
                free.add(b);
            }
        });
    }

    private void rethrow() throws IOException {
        Throwable t = failed.get();
        if (t instanceof IOException io) {
            throw new IOException(io.getMessage(), io); // thrown again on this thread, with where it happened
        }
        if (t instanceof RuntimeException || t instanceof Error) {
            throw new IOException("writing a range of the file failed: " + t, t);
        }
    }

    /** Writes what is buffered and waits until every chunk is written; fails if any write failed. */
    @Override
    public void flush() throws IOException {
        if (current != null && current.position() > 0) {
            submit();
        }
        awaitAll();
        rethrow();
    }

    /** Waits for every chunk in flight to be written (or to fail), even if interrupted meanwhile. */
    private void awaitAll() {
        boolean interrupted = false;
        java.util.List<ByteBuffer> back = new java.util.ArrayList<>();
        if (current != null) {
            back.add(current.clear());
            current = null;
        }
        while (back.size() < buffers) {
            try {
                back.add(free.take());
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        free.addAll(back);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the writes in flight; the channel is the caller's to close. */
    @Override
    public void close() {
        awaitAll();
    }
}
