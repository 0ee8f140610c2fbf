package org.pgstrata.manifest;

import java.util.List;

/**
 * What one backup is: plain, immutable data, written last (a backup exists if and only if its
 * manifest does). A backup built on another names it in {@code reference}; a full has none.
 * LSNs are in PostgreSQL's text form, times in ISO-8601 UTC.
 *
 * @param dataBytes       the size of the data directory files the backup describes
 * @param repositoryBytes the bytes this backup itself added to the repository (its objects)
 * @param walSource       where the WAL from start to stop is: {@link #WAL_IN_BACKUP} or {@link #WAL_IN_ARCHIVE}
 */
public record Manifest(
        int formatVersion,
        String id,
        String type,
        String reference,
        String systemIdentifier,
        int pgVersionNum,
        int timeline,
        String startLsn,
        String stopLsn,
        String startTime,
        String stopTime,
        String compression,
        String backupLabel,
        String tablespaceMap,
        List<DirectoryEntry> directories,
        List<FileEntry> files,
        List<WalEntry> wal,
        long dataBytes,
        long repositoryBytes,
        String pgstrataVersion,
        String walSource) {

    public static final int FORMAT_VERSION = 1;
    /** The WAL from start to stop is stored with the backup. */
    public static final String WAL_IN_BACKUP = "backup";
    /** The WAL from start to stop is in the repository's archive. */
    public static final String WAL_IN_ARCHIVE = "archive";

    public boolean walInArchive() {
        return WAL_IN_ARCHIVE.equals(walSource);
    }

    public int pgMajor() {
        return pgVersionNum / 10000;
    }
}
