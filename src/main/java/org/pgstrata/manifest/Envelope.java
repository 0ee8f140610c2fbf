package org.pgstrata.manifest;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.pgstrata.storage.CorruptObjectException;

/**
 * The checksum envelope around repository metadata: {@code {"crc32c":"<hex>","body":<body>}}.
 * CRC-32C, as PostgreSQL uses for pg_control and WAL records: it catches corruption of a small
 * file, and unlike SHA-256 it needs no security provider, whose start-up alone costs a WAL push
 * 15 ms. Kept free of any JSON library so that the lean push path can check repo.json cheaply.
 */
public final class Envelope {
    private static final byte[] HEAD = "{\"crc32c\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final int SUM = 8;
    private static final byte[] MID = "\",\"body\":".getBytes(StandardCharsets.US_ASCII);
    private static final int BODY_START = HEAD.length + SUM + MID.length;

    private Envelope() {
    }

    public static byte[] seal(byte[] body) {
        byte[] hex = crc(body).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[BODY_START + body.length + 2];
        System.arraycopy(HEAD, 0, out, 0, HEAD.length);
        System.arraycopy(hex, 0, out, HEAD.length, SUM);
        System.arraycopy(MID, 0, out, HEAD.length + SUM, MID.length);
        System.arraycopy(body, 0, out, BODY_START, body.length);
        out[out.length - 2] = '}';
        out[out.length - 1] = '\n';
        return out;
    }

    /** Writes a body of a known length into a stream. */
    interface BodyWriter {
        void writeTo(java.io.OutputStream out) throws java.io.IOException;
    }

    /**
     * {@link #seal(byte[])} of a body that {@code body} writes, whose length and CRC-32C are known
     * beforehand: the sealed bytes are the only copy of the body in memory. Fails if {@code body}
     * writes other bytes than the ones measured.
     */
    static byte[] seal(int bodyLength, long crc32c, BodyWriter body) throws java.io.IOException {
        byte[] out = new byte[BODY_START + bodyLength + 2];
        System.arraycopy(HEAD, 0, out, 0, HEAD.length);
        System.arraycopy(String.format("%08x", crc32c).getBytes(StandardCharsets.US_ASCII), 0, out, HEAD.length, SUM);
        System.arraycopy(MID, 0, out, HEAD.length + SUM, MID.length);
        int[] at = {BODY_START};
        body.writeTo(new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                if (at[0] + len > BODY_START + bodyLength) {
                    throw new java.io.IOException("the body grew between two writes of it (" + bodyLength + " bytes measured)");
                }
                System.arraycopy(b, off, out, at[0], len);
                at[0] += len;
            }
        });
        if (at[0] != BODY_START + bodyLength || !crc(out, BODY_START, bodyLength).equals(String.format("%08x", crc32c))) {
            throw new java.io.IOException("the body changed between two writes of it");
        }
        out[out.length - 2] = '}';
        out[out.length - 1] = '\n';
        return out;
    }

    private static String crc(byte[] body) {
        return crc(body, 0, body.length);
    }

    private static String crc(byte[] b, int off, int len) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b, off, len);
        return String.format("%08x", c.getValue());
    }

    /** Checks the envelope and returns the body's exact bytes. */
    public static byte[] open(String key, byte[] bytes) throws CorruptObjectException {
        int end = bodyEnd(key, bytes);
        return Arrays.copyOfRange(bytes, BODY_START, end);
    }

    /** Where the body starts in a sealed file: the same for every file. */
    static int bodyStart() {
        return BODY_START;
    }

    /**
     * Checks the envelope and returns where the body ends in {@code bytes} (it starts at
     * {@link #bodyStart()}): for a reader that parses it in place, without a copy the size of a
     * manifest (28 MB for 100,000 files).
     */
    static int bodyEnd(String key, byte[] bytes) throws CorruptObjectException {
        int end = bytes.length;
        while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r' || bytes[end - 1] == ' ')) {
            end--;
        }
        if (end < BODY_START + 1 || !Arrays.equals(bytes, 0, HEAD.length, HEAD, 0, HEAD.length)
                || !Arrays.equals(bytes, HEAD.length + SUM, BODY_START, MID, 0, MID.length) || bytes[end - 1] != '}') {
            throw new CorruptObjectException(key, "is not a pgstrata metadata file (no checksum envelope)");
        }
        String recorded = new String(bytes, HEAD.length, SUM, StandardCharsets.US_ASCII);
        String actual = crc(bytes, BODY_START, end - 1 - BODY_START);
        if (!actual.equals(recorded)) {
            throw new CorruptObjectException(key, "has checksum " + actual + " but records " + recorded);
        }
        return end - 1;
    }
}
