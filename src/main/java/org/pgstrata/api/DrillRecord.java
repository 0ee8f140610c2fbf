package org.pgstrata.api;

import java.util.List;

/**
 * What one restore drill found, as the repository keeps it ({@link DrillRecords}) and as
 * {@code drill --json} prints it. The field names are a stable interface for scripts.
 *
 * @param backupId   the backup restored (for a target: the backup recovery started from)
 * @param kind       "physical" or "logical"
 * @param target     where recovery stopped, in words ("the backup's consistency point", a time...)
 * @param startedAt  when the drill began (ISO-8601, UTC)
 * @param seconds    how long it took, restore and checks
 * @param result     {@link #PASSED} or {@link #FAILED}; {@link #DAMAGED} for a stored record that cannot be read
 *                   (shown by its name alone: whatever its name says, it proves nothing)
 * @param checks     what was checked, one line each
 * @param findings   what failed, one line each (empty when passed)
 * @param pgVersion  the server version the copy ran on
 * @param stoppedAt  the WAL position recovery stopped at (physical drills)
 * @param databases  databases checked
 * @param relations  tables read and indexes checked
 * @param rows       rows read
 * @param bytesRead  bytes of table content read (as text, TOAST detoasted)
 * @param host       the host the drill ran on
 */
public record DrillRecord(int formatVersion, String backupId, String kind, String target, String startedAt, double seconds,
                          String result, List<String> checks, List<String> findings, String pgVersion, String stoppedAt,
                          int databases, long relations, long rows, long bytesRead, String host) {
    public static final int FORMAT_VERSION = 1;
    public static final String PASSED = "passed";
    public static final String FAILED = "failed";
    public static final String DAMAGED = "damaged";

    public DrillRecord {
        checks = checks == null ? List.of() : List.copyOf(checks);
        findings = findings == null ? List.of() : List.copyOf(findings);
    }

    public boolean passed() {
        return PASSED.equals(result);
    }
}
