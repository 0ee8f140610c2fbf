package org.pgstrata.logical;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.pgstrata.manifest.Checksum;

/** Counts and checksums the content read through it, to compare with the manifest at the end. */
final class VerifyingIn extends FilterInputStream {
    private final Checksum digest = new Checksum();
    private long bytes;

    VerifyingIn(InputStream in) {
        super(in);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            digest.update(b, off, n);
            bytes += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        return super.skip(0);
    }

    long bytes() {
        return bytes;
    }

    String checksum() {
        return digest.hex();
    }
}
