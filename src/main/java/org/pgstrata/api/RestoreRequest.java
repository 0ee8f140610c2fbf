package org.pgstrata.api;

import java.nio.file.Path;

/**
 * Rebuild a data directory from a backup.
 *
 * @param backupId null for the newest backup
 * @param pgBin    binaries to start the restored server with (null: PGSTRATA_PG_BIN or bundled)
 */
public record RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs) {
}
