package org.pgstrata.api;

import java.nio.file.Path;

/**
 * What to back up and how.
 *
 * @param pauseAfterFiles test hook: stop (sleep) after this many files are copied, so a test can
 *                        kill the process mid-copy; 0 disables it
 * @param archiveTimeoutSeconds with a WAL archive, how long to wait for the backup's WAL to arrive
 * @param changeSource    how an incremental or differential finds the changed blocks
 */
public record BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type,
                            Compression compression, int jobs, int pauseAfterFiles, int archiveTimeoutSeconds, ChangeSource changeSource) {
    public BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type, Compression compression, int jobs,
                         int pauseAfterFiles) {
        this(repo, pgdata, connection, type, compression, jobs, pauseAfterFiles, 60);
    }

    public BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type, Compression compression, int jobs,
                         int pauseAfterFiles, int archiveTimeoutSeconds) {
        this(repo, pgdata, connection, type, compression, jobs, pauseAfterFiles, archiveTimeoutSeconds, ChangeSource.AUTO);
    }

    public BackupRequest {
        if (jobs < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--jobs must be at least 1, not " + jobs, null);
        }
    }
}
