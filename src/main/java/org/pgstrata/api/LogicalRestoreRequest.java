package org.pgstrata.api;

import java.nio.file.Path;

/**
 * A logical restore into a running server.
 *
 * @param backupId   the logical backup (null: the newest)
 * @param connection the server, and the database to connect to for administration (usually postgres)
 * @param toDb       the database to restore into
 * @param create     create {@code toDb} when it does not exist (a whole-database restore always creates it)
 * @param clean      replace an existing {@code toDb} (or, with {@code table}, an existing table)
 * @param table      restore only this table ("name" or "schema.name"), or null for the whole database
 * @param noOwner    leave ownership to the restoring user (pg_restore --no-owner)
 * @param noPrivileges restore no GRANT or REVOKE (pg_restore --no-privileges): for a server without the roles they name
 */
public record LogicalRestoreRequest(String repo, String backupId, ConnectionSettings connection, String toDb, boolean create,
                                    boolean clean, String table, int jobs, Path pgBin, boolean noOwner,
                                    boolean noPrivileges) {
}
