package org.pgstrata.api;

import java.util.List;

/**
 * One row of {@code pgstrata list}. The JSON field names are a stable interface for scripts:
 * id, type, reference, chain, startLsn, stopLsn, startTime, stopTime, dataBytes, repositoryBytes, pgMajor,
 * database (logical backups only; their LSNs are the snapshot's, and dataBytes is pg_dump's output), status
 * ({@link #OK}, or {@link #DAMAGED} for a backup whose manifest cannot be read: then only id, status and problem are set).
 *
 * @param reference the backup this one is built on (null for a full)
 * @param chain     the backups a restore of this one reads, the full first and this one last
 */
public record BackupInfo(String id, String type, String reference, List<String> chain, String startLsn, String stopLsn,
                         String startTime, String stopTime, long dataBytes, long repositoryBytes, int pgMajor, String database,
                         String status, String problem, String changeSource) {
    public static final String OK = "ok";
    public static final String DAMAGED = "damaged";

    /** A row for a backup whose manifest cannot be read (damaged, mislabelled or of another system). */
    public static BackupInfo damaged(String id, boolean logical, String problem) {
        return new BackupInfo(id, logical ? "logical" : null, null, List.of(), null, null, null, null, 0, 0, 0, null, DAMAGED, problem, null);
    }

    public boolean isDamaged() {
        return DAMAGED.equals(status);
    }

    /** A pg_dump backup (logical-full or logical-diff), not a physical one. */
    public boolean logical() {
        return type != null && type.startsWith("logical");
    }
}
