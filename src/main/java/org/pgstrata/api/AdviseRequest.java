package org.pgstrata.api;

import java.nio.file.Path;

/**
 * What {@code advise} measures: the cluster in {@code pgdata} (running, reached through
 * {@code connection}) against the newest backup in {@code repo}.
 *
 * @param checkpoint  run CHECKPOINT first, so that pages changed only in shared buffers are in the files
 * @param jobs        files read (and compressed) in parallel, as a backup's --jobs
 * @param scratchDir  where the restore rate's test writes go (and are removed again); null for the
 *                    system's temporary directory
 * @param restoreSampleSeconds how long the restore rate is measured for, at most (the object that
 *                    crosses the limit is still read to its end, so that its checksum is checked)
 */
public record AdviseRequest(String repo, Path pgdata, ConnectionSettings connection, boolean checkpoint, int jobs, Path scratchDir,
                            double restoreSampleSeconds) {
    public static final double DEFAULT_RESTORE_SAMPLE_SECONDS = 3;

    public AdviseRequest {
        if (jobs < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--jobs must be at least 1, not " + jobs, "pass --jobs 1 or more");
        }
        if (!(restoreSampleSeconds > 0)) {
            throw new PgstrataException(ErrorCode.USAGE, "the restore sample must last more than 0 seconds, not " + restoreSampleSeconds,
                    "pass a positive number of seconds");
        }
    }
}
