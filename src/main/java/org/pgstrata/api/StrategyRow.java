package org.pgstrata.api;

/**
 * One row of {@code pgstrata compare}. JSON field names are stable: strategy, backupSeconds,
 * repositoryBytes, restoreSeconds, restorePoints, verified, reason (only when not verified).
 */
public record StrategyRow(String strategy, double backupSeconds, long repositoryBytes, double restoreSeconds,
                          int restorePoints, boolean verified, String reason) {
}
