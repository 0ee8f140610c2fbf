package org.pgstrata.api;

import java.time.Instant;

/**
 * What to verify.
 *
 * @param backupId only this backup (physical: rebuilt through its chain; logical: its objects), or null for all
 * @param since    only the backups that stopped at or after this time, or null for all
 * @param jobs     files rebuilt in parallel
 */
public record VerifyRequest(String repo, String backupId, Instant since, int jobs) {
    public VerifyRequest {
        if (jobs < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--jobs must be at least 1, not " + jobs, "use --jobs 2, for instance");
        }
    }
}
