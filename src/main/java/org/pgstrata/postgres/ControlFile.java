package org.pgstrata.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The few fields of global/pg_control that pgstrata needs. The file starts with
 * system_identifier (uint64), pg_control_version (uint32) and catalog_version_no (uint32), in the
 * machine's byte order (little-endian on every platform pgstrata runs on).
 */
public record ControlFile(long systemIdentifier, int controlVersion, int catalogVersion) {

    public static ControlFile parse(byte[] bytes) {
        if (bytes.length < 16) {
            throw new IllegalArgumentException("pg_control is too short (" + bytes.length + " bytes)");
        }
        long lo = Page.u32(bytes, 0);
        long hi = Page.u32(bytes, 4);
        return new ControlFile((hi << 32) | lo, (int) Page.u32(bytes, 8), (int) Page.u32(bytes, 12));
    }

    public static ControlFile read(Path pgdata) throws IOException {
        return parse(Files.readAllBytes(pgdata.resolve("global").resolve("pg_control")));
    }

    /** pg_control's state (DBState) after a shutdown during archive recovery: DB_SHUTDOWNED_IN_RECOVERY, 2 in every major since 9.0. */
    public static final int SHUT_DOWN_IN_RECOVERY = 2;

    /**
     * The cluster's state (DBState, the int that follows catalog_version_no): "shut down in
     * recovery" only after the shutdown checkpoint of a server in archive recovery, such as one
     * that stopped at its recovery target (recovery_target_action = shutdown); a server that
     * failed to start, or whose recovery failed, leaves what it found or "in archive recovery".
     */
    public static int state(Path pgdata) throws IOException {
        byte[] bytes = Files.readAllBytes(pgdata.resolve("global").resolve("pg_control"));
        if (bytes.length < 20) {
            throw new IOException("pg_control is too short (" + bytes.length + " bytes)");
        }
        return (int) Page.u32(bytes, 16);
    }

    /** The identifier as PostgreSQL prints it (an unsigned decimal). */
    public String systemIdentifierText() {
        return Long.toUnsignedString(systemIdentifier);
    }
}
