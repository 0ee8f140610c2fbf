package org.pgstrata.api;

/**
 * A completed backup, as the backup command reports it. {@code configFiles}: the absolute paths of the configuration
 * files stored from outside the data directory (postgresql.conf, pg_hba.conf ... of a packaged cluster), empty if none.
 * {@code changeSource}: for an incremental or differential, how it found the changed blocks ("wal-summary" or "scan"),
 * and {@code changeSourceNote} why it scanned when the WAL summaries could not be used (null otherwise).
 * {@code bytesRead}: how much of the data directory's content the backup read (the files' bytes, not the WAL it
 * copied): all of {@code dataBytes} for a full or a scan, what changed and little more for an incremental by the WAL
 * summaries.
 */
public record BackupResult(String id, String type, String reference, String startLsn, String stopLsn,
                           long files, long dataBytes, long repositoryBytes, double seconds, int walSegments,
                           java.util.List<String> configFiles, String changeSource, String changeSourceNote, long bytesRead) {
}
