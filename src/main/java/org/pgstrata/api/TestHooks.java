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
 *   <li>{@code PGSTRATA_TEST_S3_SOCKET_TIMEOUT_MS}: how long an S3 connection may stay silent before the
 *       attempt fails, in milliseconds, instead of 60 s. Lets a test meet an endpoint that never answers in seconds.</li>
 *   <li>{@code PGSTRATA_TEST_S3_CONNECTIONS=N}: the S3 client's pool holds N connections instead
 *       of 512, and rebuilds hold at most half of them (see {@code Storage#readsAtOnce}). Lets a
 *       test reach the bound with a short chain.</li>
 *   <li>{@code PGSTRATA_TEST_HALT_AT=STEP}: the process stops dead at that step of a backup
 *       (full-objects, full-manifest, pages-read, reverse-middle, reverse-swapped) or a restore
 *       (restore-control-aside: a restore into a new directory has set the backup's pg_control aside and written no
 *       other file; restore-files-written: before backup_label, the recovery settings and pg_control) or a delete
 *       (delete-dependant-removed: after each backup removed with --with-dependants) or {@code wal get} run as
 *       restore_command (wal-get: before it reads anything), as kill -9
 *       would: no clean-up, no shutdown hooks.</li>
 *   <li>{@code PGSTRATA_TEST_PAUSE_AFTER_FILES=N}: a physical backup sleeps after copying N
 *       files, so that a test can kill it or change the cluster under it; with
 *       {@code PGSTRATA_TEST_RESUME_FILE=PATH} it goes on once that file exists.</li>
 *   <li>{@code PGSTRATA_TEST_PAUSE_AT=STEP}: the process prints "test hook: pausing at STEP" and
 *       sleeps at that step (logical-restore-temporary-database: a whole-database logical restore
 *       has created its temporary database and decompressed its dump; logical-restore-changes: a logical restore
 *       of a differential has loaded the full's rows and not yet applied the changes; drill-checks: a drill's
 *       copy is restored and running, its checks not begun; restore-start: a physical restore with --start has written
 *       every file and not yet started the server; restore-checked: a physical restore has checked its backup's chain and
 *       not yet written a file; verify-checked: verify has read the manifests and chains of the backups it checks and
 *       not yet read an object; verify-archive-listed: verify has listed the WAL archive and not yet read a segment of it), so that a test can kill it, or change the repository under it
 *       and let it go on by creating {@code PGSTRATA_TEST_RESUME_FILE}.</li>
 *   <li>{@code PGSTRATA_TEST_ORDERED_MERGE}: a logical differential compares every table by the
 *       ordered merge that big tables take, however small.</li>
 *   <li>{@code PGSTRATA_TEST_HALT_AT=backup-manifest-removed}: the removal of a backup (by delete or expire) stops
 *       dead, as kill -9 would, once its manifest is gone and before its objects go.</li>
 *   <li>{@code PGSTRATA_TEST_FAIL_AT=manifest-write}: writing a backup's manifest (physical or logical) fails with an
 *       I/O error, as a full disk or a store that refuses the write would, after every other object was written.</li>
 * </ul>
 */
public final class TestHooks {
    private TestHooks() {
    }

    private static final String HALT_AT = System.getenv("PGSTRATA_TEST_HALT_AT");

    /** Stops the process dead when a test asked to halt at {@code step}; does nothing otherwise. */
    public static void haltAt(String step) {
        if (step.equals(HALT_AT)) {
            Runtime.getRuntime().halt(137);
        }
    }

    private static final String FAIL_AT = System.getenv("PGSTRATA_TEST_FAIL_AT");

    /** Fails with an I/O error, as a full disk would, when a test asked to fail at {@code step}; does nothing otherwise. */
    public static void failAt(String step) throws java.io.IOException {
        if (step.equals(FAIL_AT)) {
            throw new java.io.IOException("No space left on device (test hook: failing at " + step + ")");
        }
    }

    private static final String PAUSE_AT = System.getenv("PGSTRATA_TEST_PAUSE_AT");

    /**
     * Says so and sleeps (for a test to kill the process, or until the resume file exists) when a
     * test asked to pause at {@code step}; does nothing otherwise.
     */
    public static void pauseAt(String step, Progress progress) {
        if (step.equals(PAUSE_AT)) {
            progress.step("test hook: pausing at " + step);
            java.nio.file.Path resume = resumeFile();
            try {
                for (long slept = 0; slept < 600_000 && (resume == null || !java.nio.file.Files.exists(resume)); slept += 50) {
                    Thread.sleep(50);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** After how many copied files a physical backup pauses for a test; 0 for never. */
    public static int pauseAfterFiles(java.util.Map<String, String> env) {
        String v = env.get("PGSTRATA_TEST_PAUSE_AFTER_FILES");
        return v == null || v.isBlank() ? 0 : Integer.parseInt(v.trim());
    }

    /** The file whose creation ends a backup's pause for a test; null: the pause lasts until the process is killed. */
    public static java.nio.file.Path resumeFile() {
        String v = System.getenv("PGSTRATA_TEST_RESUME_FILE");
        return v == null || v.isBlank() ? null : java.nio.file.Path.of(v);
    }

    /** Whether a test asked the logical differential to take the big tables' path for every table. */
    public static boolean orderedMerge(java.util.Map<String, String> env) {
        return env.get("PGSTRATA_TEST_ORDERED_MERGE") != null;
    }

    /** The S3 lease's time to live when a test shortened it. */
    public static Optional<Duration> s3LeaseTtl() {
        return milliseconds("PGSTRATA_TEST_S3_LEASE_TTL_MS");
    }

    /** The S3 client's socket (read inactivity) timeout when a test shortened it. */
    public static Optional<Duration> s3SocketTimeout() {
        return milliseconds("PGSTRATA_TEST_S3_SOCKET_TIMEOUT_MS");
    }

    /** A positive number of milliseconds in environment variable {@code name}; empty when it is not set or not such a number. */
    private static Optional<Duration> milliseconds(String name) {
        String v = System.getenv(name);
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

    /** The S3 client's connections when a test made the pool smaller. */
    public static Optional<Integer> s3Connections() {
        String v = System.getenv("PGSTRATA_TEST_S3_CONNECTIONS");
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        try {
            int n = Integer.parseInt(v.trim());
            return n >= 2 ? Optional.of(n) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
