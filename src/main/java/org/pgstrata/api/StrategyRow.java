package org.pgstrata.api;

/**
 * One row of {@code pgstrata compare}. JSON field names are stable: strategy, backupSeconds,
 * repositoryBytes, restoreSeconds, restorePoints, verified, reason (only when not verified).
 */
public record StrategyRow(String strategy, double backupSeconds, long repositoryBytes, double restoreSeconds,
                          int restorePoints, boolean verified, String reason) {
    /** How the reason of a row that could not run at all begins (no usable pg_dump, say). */
    public static final String NOT_RUN = "not run: ";

    public static StrategyRow notRun(String strategy, String why) {
        return new StrategyRow(strategy, 0, 0, 0, 0, false, NOT_RUN + why);
    }

    /** False for a row that could not run (its reason says why); such a row is not a failed proof. */
    public boolean ran() {
        return verified || reason == null || !reason.startsWith(NOT_RUN);
    }
}
