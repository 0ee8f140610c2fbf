package org.pgstrata.api;

/**
 * One row of {@code pgstrata list}. The JSON field names are a stable interface for scripts:
 * id, type, reference, startLsn, stopLsn, startTime, stopTime, dataBytes, repositoryBytes.
 */
public record BackupInfo(String id, String type, String reference, String startLsn, String stopLsn,
                         String startTime, String stopTime, long dataBytes, long repositoryBytes, int pgMajor) {
}
