package org.pgstrata.storage.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import org.pgstrata.api.Verbose;
import org.pgstrata.storage.StoreReadException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * The body of one GET that survives a connection cut mid-object: when reading fails, the rest is
 * asked for again from the offset reached, of the same object version (If-Match on the first
 * response's ETag), so that a network blip during a restore, a verify or a {@code wal get} costs a
 * request, not the command. A cut with no byte read since the last one counts as a failed attempt;
 * after {@link #ATTEMPTS} of them in a row, or {@link #RESUMES} resumes in all, the read fails with
 * the last error: an I/O error that says nothing about the object's soundness (which the reader
 * above checks by size and checksum).
 */
final class ResumingRead extends InputStream {
    /** Consecutive attempts that got no byte further before the read gives up. */
    static final int ATTEMPTS = 4;
    /** Resumes of one read in all: a link that cuts every response is not worth a request per few bytes. */
    static final int RESUMES = 16;

    /** Opens the object again from an offset (relative to where this read started), if its ETag is still the one given. */
    interface Reopen {
        ResponseInputStream<GetObjectResponse> from(long offset, String eTag) throws IOException;
    }

    private final String what;
    private final Reopen reopen;
    private final String eTag;
    private ResponseInputStream<GetObjectResponse> in;
    private long position;
    private int failures;
    private int resumes;
    private boolean closed;

    ResumingRead(String what, ResponseInputStream<GetObjectResponse> first, Reopen reopen) {
        this.what = what;
        this.in = first;
        this.reopen = reopen;
        this.eTag = first.response().eTag();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        while (true) {
            if (closed) {
                throw new IOException("read of " + what + " after it was closed");
            }
            try {
                int n = in.read(b, off, len);
                if (n > 0) {
                    position += n;
                    failures = 0;
                }
                return n;
            } catch (InterruptedIOException e) {
                throw e;
            } catch (IOException e) {
                resume(e);
            }
        }
    }

    @Override
    public long skip(long n) throws IOException {
        // read and drop, so that a cut during the skip is resumed like any other
        byte[] drop = new byte[(int) Math.min(n, 64 << 10)];
        long left = n;
        while (left > 0) {
            int r = read(drop, 0, (int) Math.min(left, drop.length));
            if (r < 0) {
                break;
            }
            left -= r;
        }
        return n - left;
    }

    private void resume(IOException cut) throws IOException {
        failures++;
        if (eTag == null || failures >= ATTEMPTS || resumes >= RESUMES) {
            throw new StoreReadException("reading " + what + " failed at byte " + position + " (" + S3Errors.brief(cut) + ")"
                    + (resumes > 0 ? ", after " + resumes + " resumed read" + (resumes == 1 ? "" : "s") : ""), cut);
        }
        resumes++;
        in.abort(); // the connection is not reused: its state is unknown
        Verbose.log("reading " + what + " was cut at byte " + position + " (" + S3Errors.brief(cut)
                + "): asking for the rest again, attempt " + (failures + 1) + " of " + ATTEMPTS);
        try {
            Thread.sleep(100L << (failures - 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException stop = new InterruptedIOException("interrupted while reading " + what);
            stop.addSuppressed(cut);
            throw stop;
        }
        try {
            in = reopen.from(position, eTag);
        } catch (IOException e) {
            StoreReadException failed = new StoreReadException("reading " + what + " was cut at byte " + position + " (" + S3Errors.brief(cut)
                    + ") and the rest could not be read: " + e.getMessage(), e);
            failed.addSuppressed(cut);
            throw failed;
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            in.close();
        }
    }
}
