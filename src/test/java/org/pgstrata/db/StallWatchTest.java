package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A wait that follows progress: only time without any change counts. */
class StallWatchTest {
    private final AtomicLong now = new AtomicLong();

    private void advance(long seconds) {
        now.addAndGet(seconds * 1_000_000_000L);
    }

    @Test
    void slowButMoving_neverStalls_stillFor_longerThanTheLimit_does() {
        StallWatch w = new StallWatch(Duration.ofSeconds(10), now::get);
        for (int i = 0; i < 100; i++) { // 900 s of slow progress
            advance(9);
            assertThat(w.observe("lsn " + i)).isTrue();
            assertThat(w.stalled()).isFalse();
        }
        advance(9);
        assertThat(w.observe("lsn 99")).isFalse();
        assertThat(w.stalled()).isFalse();
        advance(2);
        assertThat(w.stalled()).isTrue();
        assertThat(w.stillSeconds()).isEqualTo(11);
    }

    @Test
    void aZeroLimit_neverStalls() {
        StallWatch w = new StallWatch(Duration.ZERO, now::get);
        w.observe("x");
        advance(100_000);
        assertThat(w.stalled()).isFalse();
    }
}
