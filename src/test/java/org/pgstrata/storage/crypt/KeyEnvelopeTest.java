package org.pgstrata.storage.crypt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KeyEnvelopeTest {
    /** The smallest cost the envelope accepts, to keep the test short; the default is 64 MiB, 3 passes. */
    private static final int MEMORY = 8 * 1024;

    @Test
    void theRightPassphraseUnwrapsTheKey_aWrongOneIsItsOwnError() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        KeyEnvelope e = KeyEnvelope.wrap(key, "correct horse".toCharArray(), MEMORY, 1);
        assertThat(e.unwrap("correct horse".toCharArray())).isEqualTo(key);
        assertThatThrownBy(() -> e.unwrap("correct hors".toCharArray())).isInstanceOf(KeyEnvelope.WrongPassphraseException.class);
        assertThat(e.wrapped()).doesNotContain(java.util.Base64.getEncoder().encodeToString(key));
    }

    @Test
    void rewrapping_keepsTheKey_andOnlyTheNewPassphraseOpensTheNewEnvelope() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        KeyEnvelope old = KeyEnvelope.wrap(key, "old pass".toCharArray(), MEMORY, 1);
        KeyEnvelope rotated = old.rewrap("old pass".toCharArray(), "new pass ünïcode".toCharArray());
        assertThat(rotated.unwrap("new pass ünïcode".toCharArray())).isEqualTo(key);
        assertThatThrownBy(() -> rotated.unwrap("old pass".toCharArray())).isInstanceOf(KeyEnvelope.WrongPassphraseException.class);
        assertThat(rotated.salt()).isNotEqualTo(old.salt());
        assertThatThrownBy(() -> old.rewrap("not it".toCharArray(), "x".toCharArray())).isInstanceOf(KeyEnvelope.WrongPassphraseException.class);
    }

    @Test
    void anEnvelopeWhoseCostWasLowered_doesNotOpen() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        KeyEnvelope e = KeyEnvelope.wrap(key, "pass".toCharArray(), 2 * MEMORY, 2);
        KeyEnvelope cheaper = new KeyEnvelope(e.kdf(), MEMORY, 1, e.salt(), e.nonce(), e.wrapped());
        assertThatThrownBy(() -> cheaper.unwrap("pass".toCharArray())).isInstanceOf(KeyEnvelope.WrongPassphraseException.class);
    }

    /** A tampered repo.json (its cost raised absurdly) is refused before Argon2 runs: neither an OutOfMemoryError nor hours of hashing. */
    @Test
    void anEnvelopeWithAnAbsurdCost_isRefusedAtOnce() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        KeyEnvelope e = KeyEnvelope.wrap(key, "pass".toCharArray(), MEMORY, 1);
        for (int[] cost : new int[][] {{Integer.MAX_VALUE, 1}, {64 * 1024 * 1024, 1}, {MEMORY, Integer.MAX_VALUE}, {-1, 1}, {MEMORY, 0}}) {
            KeyEnvelope tampered = new KeyEnvelope(e.kdf(), cost[0], cost[1], e.salt(), e.nonce(), e.wrapped());
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () ->
                    assertThatThrownBy(() -> tampered.unwrap("pass".toCharArray())).as(cost[0] + " KiB, " + cost[1] + " passes")
                            .isInstanceOf(IllegalArgumentException.class));
        }
    }

    /**
     * A key derived ahead of time (KeyEnvelope.prefetch, started by the command line) is used only
     * by an unwrap with the same passphrase of an equal envelope: Argon2 then runs once. A prefetch
     * for the right passphrase never lets a wrong one through, and a prefetch that guessed the
     * wrong passphrase, the wrong repository or failed costs a derivation, nothing else.
     */
    /** Argon2 runs for these envelopes so far: on prefetch threads ({@code prefetched}) or on the unwrapping one. */
    private static int derivations(boolean prefetched, KeyEnvelope... envelopes) {
        int n = 0;
        for (KeyEnvelope e : envelopes) {
            n += KeyEnvelope.derivations(e.salt(), prefetched);
        }
        return n;
    }

    @Test
    void aPrefetchedKey_isUsedOnlyForTheSamePassphraseAndEnvelope() throws Exception {
        byte[] key = KeyEnvelope.newDataKey();
        char[] pass = "prefetched pässphrase".toCharArray();
        KeyEnvelope e = KeyEnvelope.wrap(key, pass, MEMORY, 1);
        KeyEnvelope other = KeyEnvelope.wrap(KeyEnvelope.newDataKey(), pass, MEMORY, 1);

        int own = derivations(false, e, other);
        int ahead = derivations(true, e, other);
        KeyEnvelope.prefetch(pass, () -> e);
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        assertThat(derivations(false, e, other) - own).as("the unwrapping thread ran no Argon2").isZero();
        assertThat(derivations(true, e, other) - ahead).as("the prefetch ran it").isEqualTo(1);

        // The right passphrase prefetched, a wrong one unwrapping: refused; the prefetch is given up, the next unwrap derives.
        own = derivations(false, e, other);
        KeyEnvelope.prefetch(pass, () -> e);
        assertThatThrownBy(() -> e.unwrap("prefetched passphrase".toCharArray())).isInstanceOf(KeyEnvelope.WrongPassphraseException.class);
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        assertThat(derivations(false, e, other) - own).isEqualTo(2);

        // A wrong guess of the passphrase, another repository's envelope, a failed read, no envelope, a cost out of range:
        // each unwrap derives for itself, and only the other envelope's prefetch (waited for: same passphrase) surely ran.
        own = derivations(false, e, other);
        ahead = derivations(true, e, other);
        KeyEnvelope.prefetch("a wrong guess".toCharArray(), () -> e);
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        KeyEnvelope.prefetch(pass, () -> other);
        assertThat(e.unwrap(pass.clone())).as("derived for another repository's envelope: not used").isEqualTo(key);
        KeyEnvelope.prefetch(pass, () -> {
            throw new java.io.IOException("repo.json unreadable");
        });
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        KeyEnvelope.prefetch(pass, () -> null);
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        KeyEnvelope.prefetch(pass, () -> new KeyEnvelope(e.kdf(), 1 << 30, 1, e.salt(), e.nonce(), e.wrapped()));
        assertThat(e.unwrap(pass.clone())).as("a cost out of range is not derived by the prefetch").isEqualTo(key);
        assertThat(derivations(false, e, other) - own).isEqualTo(5);
        assertThat(derivations(true, e, other) - ahead).as("the other envelope's, and perhaps the wrong guess's").isBetween(1, 2);

        // Nobody unwraps (a command that never opened its repository): discarded.
        KeyEnvelope.prefetch(pass, () -> e);
        KeyEnvelope.discardPrefetch();
        own = derivations(false, e, other);
        assertThat(e.unwrap(pass.clone())).isEqualTo(key);
        assertThat(derivations(false, e, other) - own).as("the discarded key is not taken").isEqualTo(1);
    }
}
