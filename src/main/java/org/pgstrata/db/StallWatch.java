package org.pgstrata.db;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A wait that follows progress rather than the clock: the caller shows it, now and then, a
 * fingerprint of what moves while the awaited work goes on (a log's size, a replay position, a
 * process's I/O counters); the wait is stalled only when the fingerprint has stayed the same for
 * longer than the limit. A slow but working server is never given up on; a stuck one is, after
 * the limit. A limit of zero never stalls (the caller still stops when the server dies).
 */
public final class StallWatch {
    private final long limitNanos;
    private final LongSupplier nanoClock;
    private Object last;
    private long movedAt;

    public StallWatch(Duration limit, LongSupplier nanoClock) {
        if (limit.isNegative()) {
            throw new IllegalArgumentException("a stall limit cannot be negative: " + limit);
        }
        this.limitNanos = limit.toNanos();
        this.nanoClock = nanoClock;
        this.movedAt = nanoClock.getAsLong();
    }

    public StallWatch(Duration limit) {
        this(limit, System::nanoTime);
    }

    /** Records {@code fingerprint}; true when it differs from the one before (progress). */
    public boolean observe(Object fingerprint) {
        if (Objects.equals(fingerprint, last)) {
            return false;
        }
        last = fingerprint;
        movedAt = nanoClock.getAsLong();
        return true;
    }

    /** True when nothing has moved for longer than the limit. */
    public boolean stalled() {
        return limitNanos > 0 && nanoClock.getAsLong() - movedAt > limitNanos;
    }

    /** How long nothing has moved, in whole seconds. */
    public long stillSeconds() {
        return (nanoClock.getAsLong() - movedAt) / 1_000_000_000L;
    }

    /** Sleeps between two looks at a server; an interrupt ends the wait with an error. */
    public static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.SERVER, "interrupted while waiting for the server", null);
        }
    }
}
