package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link Parallel#opening}: what it opens is closed exactly once, by whoever took it, or by the
 * {@code Opening} when nobody did, whether it was still opening then or already open.
 */
class ParallelOpeningTest {

    /** Something to open, counting how often it was closed. */
    private static final class Resource implements AutoCloseable {
        final AtomicInteger closed = new AtomicInteger();
        final CountDownLatch closing = new CountDownLatch(1);

        @Override
        public void close() {
            closed.incrementAndGet();
            closing.countDown();
        }
    }

    @Test
    void takenIsLeftToTheTaker() throws Exception {
        Resource r = new Resource();
        Parallel.Opening<Resource> o = Parallel.opening("test-open", () -> r);
        assertThat(o.get()).isSameAs(r);
        o.close();
        assertThat(r.closed).hasValue(0);
    }

    @Test
    void openButUntakenIsClosedByTheOpening() throws Exception {
        Resource r = new Resource();
        Parallel.Opening<Resource> o = Parallel.opening("test-open", () -> r);
        o.await();
        o.close();
        o.close();
        assertThat(r.closed).hasValue(1);
    }

    @Test
    void stillOpeningWhenAbandonedIsClosedOnceItOpens() throws Exception {
        Resource r = new Resource();
        CountDownLatch release = new CountDownLatch(1);
        Parallel.Opening<Resource> o = Parallel.opening("test-open", () -> {
            release.await();
            return r;
        });
        o.close(); // does not wait for it
        assertThat(r.closed).hasValue(0);
        release.countDown();
        assertThat(r.closing.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(r.closed).hasValue(1);
    }

    @Test
    void aFailureToOpenIsRethrownAsItWasAndLeavesNothingToClose() {
        Parallel.Opening<Resource> o = Parallel.opening("test-open", () -> {
            throw new IOException("refused");
        });
        assertThatThrownBy(o::await).isInstanceOf(IOException.class).hasMessage("refused");
        assertThatThrownBy(o::get).isInstanceOf(IOException.class).hasMessage("refused");
        o.close();
        Parallel.Opening<Resource> p = Parallel.opening("test-open", () -> {
            throw new PgstrataException(ErrorCode.USAGE, "bad", "fix it");
        });
        assertThatThrownBy(p::get).isInstanceOf(PgstrataException.class).hasMessageContaining("bad");
    }
}
