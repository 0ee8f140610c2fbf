package org.pgstrata.api;

import java.nio.file.Path;

/**
 * A finished restore: which backup and why, how long the files took and, with --start, how long
 * until the target was reached, where recovery stopped, and the server's state then (read-write,
 * paused, or shut down). {@code bytes} is what a full restore writes; {@code delta}, for a delta
 * restore, what this one wrote instead.
 *
 * @param stoppedAt where recovery stopped, in words (the LSN, or the server's own line when it shut down at the target
 *                  and no LSN is known); null without --start
 */
public record RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds,
                            Double readySeconds, Integer port, String reason, String stoppedAtLsn, String stoppedAtTime,
                            String state, String stoppedAt, Delta delta) {

    public RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds, Double readySeconds, Integer port,
                         String reason, String stoppedAtLsn, String stoppedAtTime, String state) {
        this(backupId, target, files, bytes, filesSeconds, readySeconds, port, reason, stoppedAtLsn, stoppedAtTime, state,
                stoppedAtLsn, null);
    }

    /**
     * What a delta restore did to the existing directory.
     *
     * @param bytesWritten   bytes of file content written (blocks that differed, files that were missing), against
     *                       {@link #bytes()} for a full restore
     * @param filesWritten   files created or with at least one block rewritten (or cut to size)
     * @param filesUnchanged files whose size and whole-content checksum already matched the backup: not written
     * @param filesRemoved   files (and links) the backup does not have, removed
     * @param bytesReused    bytes of differing files taken from the local copy instead of being decompressed
     *                       (whole zstd frames whose blocks the local file held, by the backup's block map)
     */
    public record Delta(long bytesWritten, long filesWritten, long filesUnchanged, long filesRemoved, long bytesReused) {
    }
}
