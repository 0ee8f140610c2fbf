package org.pgstrata.api;

import java.nio.file.Path;

/**
 * What to back up and how.
 *
 * @param pauseAfterFiles test hook: stop (sleep) after this many files are copied, so a test can
 *                        kill the process mid-copy; 0 disables it
 */
public record BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type,
                            Compression compression, int jobs, int pauseAfterFiles) {
    public BackupRequest {
        if (jobs < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--jobs must be at least 1, not " + jobs, null);
        }
    }
}
