package org.pgstrata.api;

import java.util.List;

/**
 * What a repository can restore, per timeline: from the oldest backup's consistency point to the
 * end of the archived WAL. JSON fields are stable: timeline, earliestLsn, earliestTime,
 * latestLsn, latestTime, backups, restorePoints, gaps, damaged.
 *
 * @param gaps    the segments recovery cannot pass: missing from the archive, or damaged
 * @param damaged of {@code gaps}, the segments the archive holds but that are damaged (verify names the damage)
 */
public record RecoveryWindow(int timeline, String earliestLsn, String earliestTime, String latestLsn, String latestTime,
                             List<String> backups, List<String> restorePoints, List<String> gaps, List<String> damaged) {
    public RecoveryWindow {
        damaged = damaged == null ? List.of() : List.copyOf(damaged);
    }
}
