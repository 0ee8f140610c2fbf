package org.pgstrata.manifest;

import java.util.List;

/**
 * What one backup is: plain, immutable data, written last (a backup exists if and only if its
 * manifest does). A backup built on another names it in {@code reference}; a full has none.
 * LSNs are in PostgreSQL's text form, times in ISO-8601 UTC.
 *
 * @param dataBytes       the size of the data directory files the backup describes
 * @param repositoryBytes the bytes this backup itself added to the repository (its objects)
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
        String pgstrataVersion) {

    public static final int FORMAT_VERSION = 1;

    public int pgMajor() {
        return pgVersionNum / 10000;
    }
}
