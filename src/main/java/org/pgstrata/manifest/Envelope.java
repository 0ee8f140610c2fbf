package org.pgstrata.manifest;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The checksum envelope around repository metadata: {@code {"sha256":"<hex>","body":<body>}}.
 * Kept free of any JSON library so that the lean WAL push path can check repo.json cheaply.
 */
public final class Envelope {
    private static final byte[] HEAD = "{\"sha256\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MID = "\",\"body\":".getBytes(StandardCharsets.US_ASCII);
    private static final int BODY_START = HEAD.length + 64 + MID.length;

    private Envelope() {
    }

    public static byte[] seal(byte[] body) {
        byte[] hex = Hashing.sha256Hex(body).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[BODY_START + body.length + 2];
        System.arraycopy(HEAD, 0, out, 0, HEAD.length);
        System.arraycopy(hex, 0, out, HEAD.length, 64);
        System.arraycopy(MID, 0, out, HEAD.length + 64, MID.length);
        System.arraycopy(body, 0, out, BODY_START, body.length);
        out[out.length - 2] = '}';
        out[out.length - 1] = '\n';
        return out;
    }

    /** Checks the envelope and returns the body's exact bytes. */
    public static byte[] open(String key, byte[] bytes) throws CorruptObjectException {
        int end = bytes.length;
        while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r' || bytes[end - 1] == ' ')) {
            end--;
        }
        if (end < BODY_START + 1 || !Arrays.equals(bytes, 0, HEAD.length, HEAD, 0, HEAD.length)
                || !Arrays.equals(bytes, HEAD.length + 64, BODY_START, MID, 0, MID.length) || bytes[end - 1] != '}') {
            throw new CorruptObjectException(key, "is not a pgstrata metadata file (no checksum envelope)");
        }
        String recorded = new String(bytes, HEAD.length, 64, StandardCharsets.US_ASCII);
        byte[] body = Arrays.copyOfRange(bytes, BODY_START, end - 1);
        String actual = Hashing.sha256Hex(body);
        if (!actual.equals(recorded)) {
            throw new CorruptObjectException(key, "has checksum " + actual + " but records " + recorded);
        }
        return body;
    }
}
