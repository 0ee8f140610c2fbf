package org.pgstrata.api;

import java.nio.file.Path;

/**
 * What to back up and how.
 *
 * @param pauseAfterFiles test hook: stop (sleep) after this many files are copied, so a test can
 *                        kill the process mid-copy; 0 disables it
 * @param archiveTimeoutSeconds with a WAL archive, how long to wait for the backup's WAL to arrive
 * @param changeSource    how an incremental or differential finds the changed blocks
 * @param compressLevel   the zstd level of every object the backup writes (null: the defaults, chosen per kind of object)
 * @param spreadCheckpoint whether pg_backup_start waits for a checkpoint at the server's own pace
 *                        (checkpoint_completion_target) rather than an immediate one
 */
public record BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type,
                            Compression compression, int jobs, int pauseAfterFiles, int archiveTimeoutSeconds, ChangeSource changeSource,
                            Integer compressLevel, boolean spreadCheckpoint) {
    public BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type, Compression compression, int jobs,
                         int pauseAfterFiles, int archiveTimeoutSeconds, ChangeSource changeSource, Integer compressLevel) {
        this(repo, pgdata, connection, type, compression, jobs, pauseAfterFiles, archiveTimeoutSeconds, changeSource, compressLevel, false);
    }

    public BackupRequest(String repo, Path pgdata, ConnectionSettings connection, BackupType type, Compression compression, int jobs,
                         int pauseAfterFiles, int archiveTimeoutSeconds, ChangeSource changeSource) {
        this(repo, pgdata, connection, type, compression, jobs, pauseAfterFiles, archiveTimeoutSeconds, changeSource, null);
    }

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
        if (compressLevel != null && compression != Compression.ZSTD) {
            throw new PgstrataException(ErrorCode.USAGE, "--compress-level is a zstd level, and this backup's compression is "
                    + compression.label(), "leave out --compress-level, or use --compress zstd");
        }
        if (compressLevel != null && !Compression.zstdLevel(compressLevel)) {
            throw new PgstrataException(ErrorCode.USAGE, "--compress-level " + compressLevel + " is not a zstd level pgstrata takes",
                    "give " + Compression.ZSTD_MIN_LEVEL + " to -1 (fastest, largest) or 1 to " + Compression.ZSTD_MAX_LEVEL
                            + " (slowest, smallest)");
        }
    }
}
