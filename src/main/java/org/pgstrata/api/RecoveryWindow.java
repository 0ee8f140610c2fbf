package org.pgstrata.api;

import java.util.List;

/**
 * What a repository can restore, per timeline: from the oldest backup's consistency point to the
 * end of the archived WAL. JSON fields are stable: timeline, earliestLsn, earliestTime,
 * latestLsn, latestTime, backups, restorePoints, gaps.
 */
public record RecoveryWindow(int timeline, String earliestLsn, String earliestTime, String latestLsn, String latestTime,
                             List<String> backups, List<String> restorePoints, List<String> gaps) {
}
