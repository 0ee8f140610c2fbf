package org.pgstrata.api;

import java.util.List;

/**
 * A completed logical backup.
 *
 * @param wholeTables tables a differential stores whole, each as "schema.table: reason"
 * @param changedRows rows inserted or updated in the tables a differential stores as changes (not the rows of whole tables)
 * @param deletedRows keys deleted from the tables a differential stores as changes
 * @param wholeRows   the rows of the tables a differential stores whole
 * @param largeObjects the large objects at the snapshot
 * @param changedLargeObjects (diff) large objects it stores: new or changed since the full (every one when the full has
 *                    no index of them)
 * @param deletedLargeObjects (diff) large objects of the full that are gone
 * @param dumpBytes   the size of pg_dump's output (uncompressed)
 */
public record LogicalBackupResult(String id, String type, String reference, String database, String snapshotLsn, String snapshotTime,
                                  int tables, int deltaTables, List<String> wholeTables, long changedRows, long deletedRows,
                                  long wholeRows, long largeObjects, long changedLargeObjects, long deletedLargeObjects,
                                  long dumpBytes, long repositoryBytes, double seconds) {
}
