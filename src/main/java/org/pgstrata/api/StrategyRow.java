package org.pgstrata.api;

import java.util.List;

/**
 * One row of {@code pgstrata compare}. JSON field names are stable: strategy, backupSeconds,
 * repositoryBytes, restoreSeconds, restorePoints, verified, reason (only when not verified), and
 * key, granularity, backupSecondsPerCycle, repositoryBytesPerCycle, restores.
 *
 * @param backupSeconds          the mean over the cycles after the first backup
 * @param repositoryBytes        what the repository holds at the end
 * @param restoreSeconds         the mean over {@code restores}
 * @param restorePoints          how many points a restore can choose from (backups, or named points)
 * @param key                    the name --strategies takes (full, incr, diff, reverse, pitr, logical, logical-diff)
 * @param granularity            what a restore can reach: each backup, or any moment the WAL covers
 * @param backupSecondsPerCycle  cycle 0 (the first backup) to K
 * @param repositoryBytesPerCycle the repository's size after each cycle, 0 to K
 * @param restores               each restore made: latest, oldest and (where WAL allows) a moment between cycles
 * @param rpoSeconds             the recovery point objective measured in this run: how many seconds of commits a failure just
 *                               before the next backup loses; for a backup-only strategy the mean time from one cycle's start
 *                               to the next's (its backup interval here), for base backup + WAL the mean time from a commit
 *                               to its WAL being archived
 */
public record StrategyRow(String strategy, double backupSeconds, long repositoryBytes, double restoreSeconds,
                          int restorePoints, boolean verified, String reason, String key, String granularity,
                          List<Double> backupSecondsPerCycle, List<Long> repositoryBytesPerCycle, List<Restore> restores, double rpoSeconds) {
    /** How the reason of a row that could not run at all begins (no usable pg_dump, say). */
    public static final String NOT_RUN = "not run: ";

    /** One measured restore: which point, its seconds until the data could be read, and whether its content was proven. */
    public record Restore(String point, String target, double seconds, boolean proven) {
    }

    public static StrategyRow notRun(String strategy, String key, String why) {
        return new StrategyRow(strategy, 0, 0, 0, 0, false, NOT_RUN + why, key, null, List.of(), List.of(), List.of(), 0);
    }

    /** False for a row that could not run (its reason says why); such a row is not a failed proof. */
    public boolean ran() {
        return verified || reason == null || !reason.startsWith(NOT_RUN);
    }
}
