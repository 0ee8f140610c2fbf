package org.pgstrata.api;

/**
 * A completed backup, as the backup command reports it. {@code configFiles}: the absolute paths of the configuration
 * files stored from outside the data directory (postgresql.conf, pg_hba.conf ... of a packaged cluster), empty if none.
 */
public record BackupResult(String id, String type, String reference, String startLsn, String stopLsn,
                           long files, long dataBytes, long repositoryBytes, double seconds, int walSegments,
                           java.util.List<String> configFiles) {
}
