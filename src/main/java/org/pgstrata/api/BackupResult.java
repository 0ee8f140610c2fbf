package org.pgstrata.api;

/** A completed backup, as the backup command reports it. */
public record BackupResult(String id, String type, String reference, String startLsn, String stopLsn,
                           long files, long dataBytes, long repositoryBytes, double seconds, int walSegments) {
}
