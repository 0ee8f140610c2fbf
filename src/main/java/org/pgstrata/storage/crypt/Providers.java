package org.pgstrata.storage.crypt;

import java.security.Provider;
import java.security.Security;

/**
 * Conscrypt (BoringSSL) first among the JCE providers, where its native library loads: Tink
 * takes AES-GCM from the first provider that has it, and the JDK's own ran at about 40 MB/s in
 * pgstrata's C1-only JVM against 600-900 MB/s through Conscrypt (bench/cipher.sh). Installed only
 * by a command that opens an encrypted repository; without Conscrypt the JDK's provider is used,
 * correct but slow.
 */
final class Providers {
    private static volatile String installed;

    private Providers() {
    }

    /**
     * Starts {@link #install} on a thread of its own: loading Conscrypt's native library takes
     * about 0.18 s, which can pass while the passphrase's key derivation runs.
     */
    static void installInBackground() {
        Thread t = new Thread(Providers::install, "pgstrata-crypto-provider");
        t.setDaemon(true);
        t.start();
    }

    /** Where Conscrypt unpacks its native library before loading it (and then removes it); by default java.io.tmpdir. */
    private static final String WORKDIR = "org.conscrypt.native.workdir";

    /**
     * Installs Conscrypt once; returns the name of the provider AES-GCM then comes from.
     * Conscrypt unpacks its library (2.4 MB) at every start, into pgstrata's native cache (as
     * zstd's is kept there) rather than TMPDIR: a TMPDIR mounted noexec, as hardened hosts mount
     * /tmp, takes the file but cannot map it, and every encrypted command then ran on the JDK's
     * AES-GCM, about twenty times slower, without a word. Where Conscrypt still does not load,
     * a warning says so.
     */
    static synchronized String install() {
        if (installed == null) {
            if (System.getProperty(WORKDIR) == null) {
                java.nio.file.Path cache = org.pgstrata.api.Self.nativeCacheDirectory();
                if (cache != null) {
                    System.setProperty(WORKDIR, cache.toString());
                }
            }
            try {
                Provider p = org.conscrypt.Conscrypt.newProvider();
                Security.insertProviderAt(p, 1);
                installed = p.getName();
                org.pgstrata.api.Verbose.log("AES-GCM from " + installed + " (its library loaded from " + System.getProperty(WORKDIR,
                        System.getProperty("java.io.tmpdir")) + ")");
            } catch (Throwable e) { // UnsatisfiedLinkError on a platform Conscrypt has no library for
                installed = "the JDK's (" + e.getClass().getSimpleName() + " loading Conscrypt)";
                String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.getClass().getSimpleName());
                org.pgstrata.api.Verbose.warn("Conscrypt's native library did not load (" + why + "); encryption runs on the JDK's AES-GCM, "
                        + "about twenty times slower (set PGSTRATA_CACHE or TMPDIR to a directory that allows running programs)");
            }
        }
        return installed;
    }
}
