package org.pgstrata.api;

import java.util.List;

/**
 * A completed logical restore.
 *
 * @param chain       the backups read: the full, then the differential if any
 * @param wholeTables tables the differential held whole, each as "schema.table: reason"
 * @param warnings    what the restore left out or could not vouch for, and why (one line each)
 */
public record LogicalRestoreResult(String backupId, List<String> chain, String database, String table, int tables,
                                   List<String> wholeTables, long changedRows, long deletedRows, List<String> warnings,
                                   double seconds) {
}
