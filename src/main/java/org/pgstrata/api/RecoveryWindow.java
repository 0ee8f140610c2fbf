package org.pgstrata.api;

import java.util.List;

/**
 * What a repository can restore, per timeline: from the oldest backup's consistency point to the
 * end of the archived WAL. JSON fields are stable: timeline, earliestLsn, earliestTime,
 * latestLsn, latestTime, backups, restorePoints, gaps, damaged, unrestorable.
 *
 * @param gaps    the segments recovery cannot pass: missing from the archive, or damaged
 * @param damaged of {@code gaps}, the segments the archive holds but that are damaged (verify names the damage)
 * @param unrestorable the backups older than the window's first that restore to no point, their own WAL (start to
 *                     consistency point) lacking a segment or holding it damaged: the window does not begin at them
 */
public record RecoveryWindow(int timeline, String earliestLsn, String earliestTime, String latestLsn, String latestTime,
                             List<String> backups, List<String> restorePoints, List<String> gaps, List<String> damaged,
                             List<Unrestorable> unrestorable) {
    public RecoveryWindow {
        damaged = damaged == null ? List.of() : List.copyOf(damaged);
        unrestorable = unrestorable == null ? List.of() : List.copyOf(unrestorable);
    }

    /**
     * A backup that restores to no point: {@code segment} of its own WAL is {@code problem} ("missing", "damaged", or
     * "removed by expire").
     */
    public record Unrestorable(String backup, String segment, String problem) {
    }
}
