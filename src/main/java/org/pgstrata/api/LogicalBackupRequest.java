package org.pgstrata.api;

import java.nio.file.Path;

/**
 * A logical backup of the database named in {@code connection}.
 *
 * @param type  FULL (pg_dump, plus a key index per table) or DIFF (rows changed since the last logical full)
 * @param jobs  above 1, a full uses pg_dump's directory format with that many parallel jobs
 * @param pgBin where pg_dump is (null: PGSTRATA_PG_BIN, PATH, the usual installation directories)
 */
public record LogicalBackupRequest(String repo, ConnectionSettings connection, BackupType type, Compression compression, int jobs,
                                   Path pgBin) {
}
