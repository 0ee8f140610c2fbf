package org.pgstrata.manifest;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Collects what is written into a chunk and hands each full chunk to {@link #full}
 * (which may replace {@link #chunk} with a fresh array); what is left is the subclass's to hand
 * over when it finishes.
 */
public abstract class ChunkingOutputStream extends OutputStream {
    /** The chunk being filled: its first {@link #fill} bytes are written. */
    protected byte[] chunk;
    protected int fill;

    protected ChunkingOutputStream(byte[] chunk) {
        this.chunk = chunk;
    }

    /**
     * Called with {@link #chunk} full: hands it over and leaves {@link #fill} at 0, or replaces it
     * with a larger array that holds the same {@link #fill} bytes first.
     */
    protected abstract void full() throws IOException;

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int k = Math.min(len, chunk.length - fill);
            System.arraycopy(b, off, chunk, fill, k);
            fill += k;
            off += k;
            len -= k;
            if (fill == chunk.length) {
                full();
            }
        }
    }
}
