package org.pgstrata.api;

import java.util.List;

/**
 * One row of {@code pgstrata list}. The JSON field names are a stable interface for scripts:
 * id, type, reference, chain, startLsn, stopLsn, startTime, stopTime, dataBytes, repositoryBytes, pgMajor,
 * database (logical backups only; their LSNs are the snapshot's, and dataBytes is pg_dump's output).
 *
 * @param reference the backup this one is built on (null for a full)
 * @param chain     the backups a restore of this one reads, the full first and this one last
 */
public record BackupInfo(String id, String type, String reference, List<String> chain, String startLsn, String stopLsn,
                         String startTime, String stopTime, long dataBytes, long repositoryBytes, int pgMajor, String database) {
    /** A pg_dump backup (logical-full or logical-diff), not a physical one. */
    public boolean logical() {
        return type.startsWith("logical");
    }
}
