package org.pgstrata.api;

import java.util.List;

/**
 * One row of {@code pgstrata list}. The JSON field names are a stable interface for scripts:
 * id, type, reference, chain, startLsn, stopLsn, startTime, stopTime, dataBytes, repositoryBytes.
 *
 * @param reference the backup this one is built on (null for a full)
 * @param chain     the backups a restore of this one reads, the full first and this one last
 */
public record BackupInfo(String id, String type, String reference, List<String> chain, String startLsn, String stopLsn,
                         String startTime, String stopTime, long dataBytes, long repositoryBytes, int pgMajor) {
}
