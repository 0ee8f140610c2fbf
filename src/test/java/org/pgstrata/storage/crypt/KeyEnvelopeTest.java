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
}
