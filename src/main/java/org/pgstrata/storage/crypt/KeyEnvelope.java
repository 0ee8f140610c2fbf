package org.pgstrata.storage.crypt;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * A repository's data key, wrapped for a passphrase: the passphrase through Argon2id (version
 * 1.3, RFC 9106) gives a 32-byte key-encryption key, which seals the data key with AES-256-GCM
 * (a random 96-bit nonce; the parameters are the associated data, so that none can be changed
 * without the unwrap failing). The envelope is kept in the clear, in repo.json: it holds
 * nothing that helps without the passphrase. A new passphrase wraps the same data key again,
 * so no object is rewritten.
 *
 * @param kdf        "argon2id"
 * @param memoryKiB  Argon2's memory, in KiB
 * @param iterations Argon2's passes over it
 * @param salt       16 random bytes, base64
 * @param nonce      AES-GCM's 12-byte nonce, base64
 * @param wrapped    the data key sealed, 32 bytes and the 16-byte tag, base64
 */
public record KeyEnvelope(@JsonProperty("kdf") String kdf, @JsonProperty("memoryKiB") int memoryKiB,
                          @JsonProperty("iterations") int iterations, @JsonProperty("salt") String salt,
                          @JsonProperty("nonce") String nonce, @JsonProperty("wrapped") String wrapped) {
    public static final String ARGON2ID = "argon2id";
    /**
     * OWASP's first recommended Argon2id setting: 19 MiB, 2 passes, one lane; about 0.13 s here.
     * Every command that opens the repository pays it, archive_command's for each WAL segment
     * included; RFC 9106's 64 MiB and 3 passes took 0.43 s.
     */
    public static final int DEFAULT_MEMORY_KIB = 19 * 1024;
    public static final int DEFAULT_ITERATIONS = 2;
    /**
     * The most an envelope may ask for (1 GiB, 64 passes): repo.json is read before anything is
     * authenticated, and a cost raised there must be refused before Argon2 allocates or runs it.
     */
    static final int MAX_MEMORY_KIB = 1 << 20;
    static final int MAX_ITERATIONS = 64;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A new random data key, 32 bytes. */
    public static byte[] newDataKey() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return k;
    }

    /** Wraps {@code dataKey} for {@code passphrase}, with a fresh salt and nonce. */
    public static KeyEnvelope wrap(byte[] dataKey, char[] passphrase, int memoryKiB, int iterations) {
        checkCost(memoryKiB, iterations);
        byte[] salt = new byte[16];
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(nonce);
        Base64.Encoder b64 = Base64.getEncoder();
        KeyEnvelope unsealed = new KeyEnvelope(ARGON2ID, memoryKiB, iterations, b64.encodeToString(salt), b64.encodeToString(nonce), null);
        byte[] kek = unsealed.derive(passphrase);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(unsealed.associatedData());
            return new KeyEnvelope(ARGON2ID, memoryKiB, iterations, unsealed.salt, unsealed.nonce, b64.encodeToString(c.doFinal(dataKey)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the platform lacks AES-GCM", e);
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    /** The data key, or {@link WrongPassphraseException} when {@code passphrase} is not the one it was wrapped for. */
    public byte[] unwrap(char[] passphrase) throws WrongPassphraseException {
        if (!ARGON2ID.equals(kdf)) {
            throw new IllegalArgumentException("unknown key derivation '" + kdf + "' (this pgstrata knows " + ARGON2ID + ")");
        }
        checkCost(memoryKiB, iterations);
        byte[] kek = keyEncryptionKey(passphrase);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(128, Base64.getDecoder().decode(nonce)));
            c.updateAAD(associatedData());
            byte[] key = c.doFinal(Base64.getDecoder().decode(wrapped));
            if (key.length != 32) {
                throw new WrongPassphraseException();
            }
            return key;
        } catch (javax.crypto.AEADBadTagException e) {
            throw new WrongPassphraseException();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the platform lacks AES-GCM", e);
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }

    /** The same data key wrapped for {@code newPassphrase}, with the same cost; the old passphrase then opens nothing of the new envelope. */
    public KeyEnvelope rewrap(char[] oldPassphrase, char[] newPassphrase) throws WrongPassphraseException {
        byte[] key = unwrap(oldPassphrase);
        try {
            return wrap(key, newPassphrase, memoryKiB, iterations);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private static void checkCost(int memoryKiB, int iterations) {
        if (memoryKiB < 8 * 1024 || memoryKiB > MAX_MEMORY_KIB || iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("Argon2id's cost of " + memoryKiB + " KiB and " + iterations + " passes is out of range (8 MiB to "
                    + MAX_MEMORY_KIB / 1024 + " MiB, 1 to " + MAX_ITERATIONS + " passes)");
        }
    }

    private byte[] associatedData() {
        return ("pgstrata data key v1\0" + kdf + "\0" + memoryKiB + "\0" + iterations + "\0" + salt).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A key-encryption key being derived ahead of time by {@link #prefetch}, for the passphrase kept
     * with it. Whoever gives it up overwrites the passphrase's copy and, derived or not yet, the key.
     */
    private static final class Prefetch {
        final char[] passphrase;
        /** The envelope the key is derived for (null: none was). */
        final java.util.concurrent.FutureTask<KeyEnvelope> task;
        private byte[] kek;
        private boolean abandoned;

        Prefetch(char[] passphrase, java.util.concurrent.Callable<KeyEnvelope> envelope) {
            this.passphrase = passphrase;
            this.task = new java.util.concurrent.FutureTask<>(() -> {
                KeyEnvelope e = envelope.call();
                if (e == null || !ARGON2ID.equals(e.kdf)) {
                    return null;
                }
                checkCost(e.memoryKiB, e.iterations); // a cost out of range is the unwrap's to report, not this thread's to run
                if (isAbandoned()) {
                    return null; // given up while repo.json was read: no second Argon2 holding memory beside the command's
                }
                derived(e.derive(passphrase));
                return e;
            });
        }

        private synchronized boolean isAbandoned() {
            return abandoned;
        }

        private synchronized void derived(byte[] key) {
            if (abandoned) {
                Arrays.fill(key, (byte) 0);
            } else {
                kek = key;
            }
        }

        synchronized byte[] take() {
            byte[] k = kek;
            kek = null;
            return k;
        }

        synchronized void abandon() {
            abandoned = true;
            if (kek != null) {
                Arrays.fill(kek, (byte) 0);
                kek = null;
            }
            Arrays.fill(passphrase, '\0');
        }
    }

    private static final java.util.concurrent.atomic.AtomicReference<Prefetch> PREFETCH = new java.util.concurrent.atomic.AtomicReference<>();
    private static final String PREFETCH_THREAD = "pgstrata-key-prefetch";
    /**
     * Argon2 runs in this process, per salt (an envelope's own) and per kind (prefetch or not), for
     * tests: another envelope's runs do not disturb the count.
     */
    private static final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.AtomicInteger> DERIVATIONS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** How many times Argon2 has begun in this process for envelopes with {@code salt}, on prefetch threads or elsewhere: for tests. */
    public static int derivations(String salt, boolean prefetched) {
        java.util.concurrent.atomic.AtomicInteger n = DERIVATIONS.get((prefetched ? "prefetch " : "") + salt);
        return n == null ? 0 : n.get();
    }

    /**
     * Starts deriving, on a thread of its own, the key-encryption key of the envelope that {@code
     * envelope} reads (null: none, or none to derive for) with {@code passphrase}, so that the
     * command's later {@link #unwrap} with the same passphrase and an equal envelope takes it
     * instead of running Argon2 then. The command line starts this as soon as it knows the
     * repository and the passphrase (Cli), so that the derivation overlaps the start of the
     * command rather than following it: a restore cannot read a byte before it has the key. Any
     * other passphrase or envelope (a wrong guess) derives afresh; nothing here decides whether a
     * passphrase is right.
     */
    public static void prefetch(char[] passphrase, java.util.concurrent.Callable<KeyEnvelope> envelope) {
        Prefetch p = new Prefetch(passphrase.clone(), envelope);
        Prefetch old = PREFETCH.getAndSet(p);
        if (old != null) {
            old.abandon();
        }
        Thread t = new Thread(p.task, PREFETCH_THREAD);
        t.setDaemon(true);
        try {
            t.start();
        } catch (Throwable e) { // no thread to be had: nothing may wait for a task that never runs
            PREFETCH.compareAndSet(p, null);
            p.abandon();
            throw e;
        }
    }

    /** Gives up a prefetched key nobody took (the command never opened its repository): overwritten, now or once derived. */
    public static void discardPrefetch() {
        Prefetch p = PREFETCH.getAndSet(null);
        if (p != null) {
            p.abandon();
        }
    }

    /** The key-encryption key for {@code passphrase}: the prefetched one when it was derived for this passphrase and this envelope. */
    private byte[] keyEncryptionKey(char[] passphrase) {
        Prefetch p = PREFETCH.getAndSet(null);
        if (p != null) {
            try {
                if (Arrays.equals(p.passphrase, passphrase)) {
                    KeyEnvelope derivedFor = p.task.get();
                    byte[] k = p.take();
                    if (k != null && equals(derivedFor)) {
                        return k; // the caller overwrites it, as any key from here
                    }
                    if (k != null) {
                        Arrays.fill(k, (byte) 0);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException e) {
                // the prefetch failed (repo.json unreadable, say): derived here, and any error is this thread's to report
            } finally {
                p.abandon();
            }
        }
        return derive(passphrase);
    }

    private byte[] derive(char[] passphrase) {
        String kind = Thread.currentThread().getName().equals(PREFETCH_THREAD) ? "prefetch " : "";
        DERIVATIONS.computeIfAbsent(kind + salt, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
        Providers.installInBackground(); // the content cipher's provider loads meanwhile
        ByteBuffer utf8 = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
        byte[] pass = new byte[utf8.remaining()];
        utf8.get(pass);
        Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(Base64.getDecoder().decode(salt))
                .withMemoryAsKB(memoryKiB)
                .withIterations(iterations)
                .withParallelism(1)
                .build();
        Argon2BytesGenerator g = new Argon2BytesGenerator();
        g.init(params);
        byte[] kek = new byte[32];
        g.generateBytes(pass, kek);
        Arrays.fill(pass, (byte) 0);
        if (utf8.hasArray()) {
            Arrays.fill(utf8.array(), (byte) 0);
        }
        return kek;
    }

    /** The passphrase does not open the envelope. */
    public static final class WrongPassphraseException extends Exception {
        public WrongPassphraseException() {
            super("the passphrase does not open this repository's key");
        }
    }
}
