package org.pgstrata.api;

import java.nio.file.Path;

/**
 * Rebuild a data directory from a backup.
 *
 * @param backupId null for the newest backup
 * @param pgBin    binaries to start the restored server with (null: PGSTRATA_PG_BIN or bundled)
 * @param recoveryTarget where recovery stops; {@link RecoveryTarget#IMMEDIATE} (or null) for the backup's own point
 * @param startStall with {@code start}: how long the server's start and recovery may show no progress before the
 *                   restore gives up (zero: as long as the server lives); null for the default (300 s)
 * @param delta    restore into an existing data directory of the same cluster (server stopped), writing only what differs
 * @param configDir      where the configuration files the source read from outside its data directory go (null: into
 *                       the target, beside the data)
 * @param walArguments   how restore_command names the repository when not by its location: the stanza (and
 *                       configuration file) that named it, so that credentials kept in that file reach {@code wal get};
 *                       empty for the location
 * @param sandbox        null, or a directory for a copy that only its restorer may reach (a drill): the restored
 *                       server then listens on no address, only on a socket in this directory, lets local connections
 *                       in without a password (an hba_file of its own), and runs without SSL
 * @param tablespaceMap  "OLD=NEW" each: tablespace OLD (its OID or its location in the backup) goes to directory NEW, linked
 *                       from pg_tblspc; the others are restored inside the target, as directories in pg_tblspc
 */
public record RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs,
                             RecoveryTarget recoveryTarget, java.time.Duration startStall, boolean delta, Path configDir,
                             java.util.List<String> walArguments, Path sandbox, java.util.List<String> tablespaceMap) {

    public RestoreRequest {
        recoveryTarget = recoveryTarget == null ? RecoveryTarget.IMMEDIATE : recoveryTarget;
        walArguments = walArguments == null ? java.util.List.of() : java.util.List.copyOf(walArguments);
        tablespaceMap = tablespaceMap == null ? java.util.List.of() : java.util.List.copyOf(tablespaceMap);
    }

    public RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs,
                          RecoveryTarget recoveryTarget, java.time.Duration startStall, boolean delta, Path configDir,
                          java.util.List<String> walArguments, Path sandbox) {
        this(repo, target, backupId, start, port, pgBin, jobs, recoveryTarget, startStall, delta, configDir, walArguments, sandbox, null);
    }

    public RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs,
                          RecoveryTarget recoveryTarget, java.time.Duration startStall, boolean delta, Path configDir,
                          java.util.List<String> walArguments) {
        this(repo, target, backupId, start, port, pgBin, jobs, recoveryTarget, startStall, delta, configDir, walArguments, null);
    }

    public RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs,
                          RecoveryTarget recoveryTarget) {
        this(repo, target, backupId, start, port, pgBin, jobs, recoveryTarget, null, false, null, java.util.List.of());
    }

    public RestoreRequest(String repo, Path target, String backupId, boolean start, Integer port, Path pgBin, int jobs) {
        this(repo, target, backupId, start, port, pgBin, jobs, RecoveryTarget.IMMEDIATE);
    }
}
