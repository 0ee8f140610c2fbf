package org.pgstrata.api;

import java.time.Duration;
import java.util.Optional;

/**
 * Settings that only tests change, read from the environment here and nowhere else (DESIGN.md:
 * test hooks in one place, out of the normal path's way). Unset, each gives the value the
 * normal path uses; none of them is part of the command-line contract.
 *
 * <ul>
 *   <li>{@code PGSTRATA_TEST_S3_LEASE_TTL_MS}: how long an S3 repository lock (a lease) lasts
 *       without renewal, in milliseconds, instead of 60 s; it is renewed every quarter of that.
 *       Lets a test freeze a writer past its lease in seconds.</li>
 * </ul>
 *
 * Older hooks are still read where they act: PGSTRATA_TEST_HALT_AT (backup.TestHook),
 * PGSTRATA_TEST_PAUSE_AFTER_FILES (cli.BackupCommand), PGSTRATA_TEST_ORDERED_MERGE
 * (logical.LogicalBackup).
 */
public final class TestHooks {
    private TestHooks() {
    }

    /** The S3 lease's time to live when a test shortened it. */
    public static Optional<Duration> s3LeaseTtl() {
        String v = System.getenv("PGSTRATA_TEST_S3_LEASE_TTL_MS");
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        try {
            long ms = Long.parseLong(v.trim());
            return ms > 0 ? Optional.of(Duration.ofMillis(ms)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
