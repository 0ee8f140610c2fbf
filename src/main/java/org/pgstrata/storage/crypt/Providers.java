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

    /** Installs Conscrypt once; returns the name of the provider AES-GCM then comes from. */
    static synchronized String install() {
        if (installed == null) {
            try {
                Provider p = org.conscrypt.Conscrypt.newProvider();
                Security.insertProviderAt(p, 1);
                installed = p.getName();
            } catch (Throwable e) { // UnsatisfiedLinkError on a platform Conscrypt has no library for
                installed = "the JDK's (" + e.getClass().getSimpleName() + " loading Conscrypt)";
            }
        }
        return installed;
    }
}
