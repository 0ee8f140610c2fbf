import java.security.Provider;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM as a pgstrata command would run it (bench/cipher.sh): the time to encrypt the
 * first 16 MiB in a fresh JVM (one WAL segment, what archive_command pays per call), in 1 MiB
 * segments, and the rate over the next GiB. Provider "jdk" is the JDK's own; "conscrypt" is BoringSSL
 * through Conscrypt, loaded from the jar named by -Dconscrypt.jar's class path.
 *
 *   java [JVM options] CipherSpeed jdk|conscrypt
 */
public final class CipherSpeed {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        Provider provider = null;
        if (args[0].equals("conscrypt")) {
            provider = (Provider) Class.forName("org.conscrypt.Conscrypt").getMethod("newProvider").invoke(null);
        }
        long loaded = System.nanoTime();
        int segment = 1 << 20;
        byte[] data = new byte[16 << 20];
        new java.util.Random(17).nextBytes(data);
        byte[] out = new byte[segment + 16];
        SecretKeySpec key = new SecretKeySpec(new byte[32], "AES");
        Cipher c = provider == null ? Cipher.getInstance("AES/GCM/NoPadding") : Cipher.getInstance("AES/GCM/NoPadding", provider);
        long first = System.nanoTime();
        int n = 0;
        for (int off = 0; off < data.length; off += segment) {
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce(n++)));
            c.doFinal(data, off, segment, out, 0);
        }
        long firstDone = System.nanoTime();
        // Then 1 GiB more (or as much as 10 s allow): the JDK's GCM intrinsic is compiled by C2 only, and only after
        // roughly a thousand 1 MiB calls, so a command never gets there.
        long bytes = 0;
        long warmStart = System.nanoTime();
        while (bytes < (1L << 30) && System.nanoTime() - warmStart < 10_000_000_000L) {
            for (int off = 0; off < data.length; off += segment) {
                c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce(n++)));
                c.doFinal(data, off, segment, out, 0);
            }
            bytes += data.length;
        }
        double warm = bytes / 1e6 / ((System.nanoTime() - warmStart) / 1e9);
        System.out.printf("%-9s provider load %4.0f ms | first 16 MiB %5.0f ms (%5.0f MB/s) | next GiB %6.0f MB/s%n", args[0],
                (loaded - t0) / 1e6, (firstDone - first) / 1e6, data.length / 1e6 / ((firstDone - first) / 1e9), warm);
    }

    private static byte[] nonce(int n) {
        byte[] iv = new byte[12];
        java.nio.ByteBuffer.wrap(iv).putInt(8, n);
        return iv;
    }
}
