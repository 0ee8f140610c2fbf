package org.pgstrata.api;

import java.nio.file.Path;

/**
 * A finished restore: which backup and why, how long the files took and, with --start, how long
 * until the target was reached, where recovery stopped, and the server's state then (read-write,
 * paused, or shut down).
 *
 * @param stoppedAt where recovery stopped, in words (the LSN, or the server's own line when it shut down at the target
 *                  and no LSN is known); null without --start
 */
public record RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds,
                            Double readySeconds, Integer port, String reason, String stoppedAtLsn, String stoppedAtTime,
                            String state, String stoppedAt) {
    public RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds, Double readySeconds, Integer port,
                         String reason, String stoppedAtLsn, String stoppedAtTime, String state) {
        this(backupId, target, files, bytes, filesSeconds, readySeconds, port, reason, stoppedAtLsn, stoppedAtTime, state,
                stoppedAtLsn);
    }
}
