package org.pgstrata.api;

import java.nio.file.Path;

/**
 * A finished restore: which backup and why, how long the files took and, with --start, how long
 * until the target was reached, where recovery stopped, and the server's state then (read-write,
 * paused, or shut down).
 */
public record RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds,
                            Double readySeconds, Integer port, String reason, String stoppedAtLsn, String stoppedAtTime,
                            String state) {
}
