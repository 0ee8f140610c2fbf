package org.pgstrata.storage.crypt;

import com.google.crypto.tink.subtle.AesGcmHkdfStreaming;
import com.google.crypto.tink.subtle.AesSiv;
import com.google.crypto.tink.subtle.Hkdf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;

/**
 * The two ciphers of an encrypted repository, both keyed from its 32-byte data key through
 * HKDF-SHA256 (one key per purpose, so that neither cipher ever sees the other's key):
 *
 * <ul>
 *   <li>content: Tink's streaming AEAD AES256-GCM-HKDF with 1 MiB ciphertext segments. Every
 *       segment is authenticated before any of its bytes is returned, the last one is marked as
 *       such (a cut-short object fails), and a segment can be read on its own, which the ranged
 *       reads of bundles need. The associated data is the object's key, so that an object moved
 *       or copied to another name does not decrypt there;</li>
 *   <li>names: AES-SIV (deterministic AEAD, RFC 5297), one path component at a time, written
 *       in unpadded base64url. Equal names give equal ciphertexts, which listing by prefix needs;
 *       nothing else of a name shows.</li>
 * </ul>
 *
 * The formats are Tink's; this class only chooses the parameters and the associated data.
 */
public final class RepositoryCipher {
    /** Ciphertext segment size: 1 MiB, so a ranged read decrypts at most about 1 MiB more than it asked for. */
    static final int SEGMENT = 1 << 20;
    /**
     * A file system name is at most 255 bytes, and FileStorage's temporary file adds up to 41 to the
     * stored name (".PID.COUNTER.pgstrata-tmp"): base64url of a component plus SIV's 16 bytes in 214.
     */
    public static final int MAX_COMPONENT = 144;

    private static final byte[] CONTENT_INFO = "pgstrata repository content v1".getBytes(StandardCharsets.UTF_8);
    private static final byte[] NAMES_INFO = "pgstrata repository names v1".getBytes(StandardCharsets.UTF_8);
    private static final byte[] NAME_AAD = "pgstrata name v1".getBytes(StandardCharsets.UTF_8);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final AesGcmHkdfStreaming content;
    private final AesSiv names;

    public RepositoryCipher(byte[] dataKey) {
        if (dataKey.length != 32) {
            throw new IllegalArgumentException("a repository's data key has 32 bytes, not " + dataKey.length);
        }
        Providers.install();
        try {
            byte[] contentKey = Hkdf.computeHkdf("HMACSHA256", dataKey, new byte[0], CONTENT_INFO, 32);
            byte[] nameKey = Hkdf.computeHkdf("HMACSHA256", dataKey, new byte[0], NAMES_INFO, 64);
            content = new AesGcmHkdfStreaming(contentKey, "HmacSha256", 32, SEGMENT, 0);
            names = new AesSiv(nameKey);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the platform lacks AES-GCM or HMAC-SHA256", e);
        }
    }

    private static byte[] aad(String key) {
        return ("pgstrata object v1\0" + key).getBytes(StandardCharsets.UTF_8);
    }

    /** Encrypts what is written to the returned stream into {@code out}, for the object {@code key}; close it to finish. */
    OutputStream encrypting(OutputStream out, String key) throws IOException {
        try {
            return content.newEncryptingStream(out, aad(key));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot start encrypting " + key, e);
        }
    }

    /** Decrypts the object {@code key} read from {@code in}; a failed segment is an IOException from Tink. */
    InputStream decrypting(InputStream in, String key) throws IOException {
        try {
            return content.newDecryptingStream(in, aad(key));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot start decrypting " + key, e);
        }
    }

    /** Random access to the plaintext of the object {@code key}, stored in {@code ciphertext}. */
    SeekableByteChannel decrypting(SeekableByteChannel ciphertext, String key) throws IOException {
        try {
            return content.newSeekableDecryptingChannel(ciphertext, aad(key));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot start decrypting " + key, e);
        }
    }

    /** What {@code plaintext} bytes take once encrypted. */
    long ciphertextSize(long plaintext) {
        return content.expectedCiphertextSize(plaintext);
    }

    /** The plaintext size of a stored object of {@code ciphertext} bytes, or -1 when no plaintext encrypts to that size. */
    long plaintextSize(long ciphertext) {
        long lo = 0;
        long hi = ciphertext;
        while (lo < hi) { // the least p whose ciphertext is at least that long; sizes grow with p
            long mid = (lo + hi) >>> 1;
            if (content.expectedCiphertextSize(mid) < ciphertext) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return content.expectedCiphertextSize(lo) == ciphertext ? lo : -1;
    }

    /** The stored name of {@code key}: each '/'-separated component encrypted; a trailing '/' stays. */
    public String encryptName(String key) throws IOException {
        StringBuilder out = new StringBuilder(key.length() * 2);
        int start = 0;
        while (start < key.length()) {
            int slash = key.indexOf('/', start);
            int end = slash < 0 ? key.length() : slash;
            byte[] component = key.substring(start, end).getBytes(StandardCharsets.UTF_8);
            if (component.length == 0) {
                throw new IOException("invalid object key '" + key + "': an empty path component");
            }
            if (component.length > MAX_COMPONENT) {
                throw new IOException("the name '" + key.substring(start, end) + "' is too long for an encrypted repository ("
                        + component.length + " bytes; at most " + MAX_COMPONENT + ")");
            }
            try {
                out.append(B64.encodeToString(names.encryptDeterministically(component, NAME_AAD)));
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot encrypt the name " + key, e);
            }
            if (slash < 0) {
                break;
            }
            out.append('/');
            start = slash + 1;
        }
        return out.toString();
    }

    /** The clear key of a stored name; throws when a component was not encrypted with this repository's key. */
    String decryptName(String stored) throws GeneralSecurityException {
        StringBuilder out = new StringBuilder(stored.length());
        int start = 0;
        while (start < stored.length()) {
            int slash = stored.indexOf('/', start);
            int end = slash < 0 ? stored.length() : slash;
            byte[] component;
            try {
                component = B64D.decode(stored.substring(start, end));
            } catch (IllegalArgumentException e) {
                throw new GeneralSecurityException("not an encrypted name: " + stored);
            }
            out.append(new String(names.decryptDeterministically(component, NAME_AAD), StandardCharsets.UTF_8));
            if (slash < 0) {
                break;
            }
            out.append('/');
            start = slash + 1;
        }
        return out.toString();
    }
}
