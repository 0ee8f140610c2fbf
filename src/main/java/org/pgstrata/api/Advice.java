package org.pgstrata.api;

import java.util.List;

/**
 * What {@code advise} measured on a cluster and its repository, and what it predicts for each
 * strategy from that. Byte counts are bytes; rates are MB/s (10^6 bytes); a prediction that
 * needs something unmeasured is null. JSON field names are stable for scripts.
 *
 * @param dataBytes           today's size of the files a backup copies
 * @param fullRatio           the newest full's stored bytes over its data bytes (its objects, without WAL)
 * @param backupWalBytes      WAL each backup stores with itself (0 when the repository has a WAL archive, except on a standby:
 *                           its backups copy their WAL from its pg_wal)
 * @param blockMapBytes       the block map each physical backup stores beside its objects (8 bytes per 8 KiB of data)
 * @param predictedFullBytes  a full taken today: dataBytes at fullRatio, plus backupWalBytes and blockMapBytes
 * @param assumptions         what the predictions take for granted, in words, with the numbers
 */
public record Advice(String repository, String pgdata, String systemIdentifier, int pgMajor, Change change, Wal wal,
                     RestoreRate restoreRate, long dataBytes, double fullRatio, String fullFrom, long backupWalBytes,
                     long blockMapBytes, long predictedFullBytes, List<Strategy> strategies, List<String> assumptions) {

    /**
     * What changed since the newest backup, as the next incremental would store it (a dry run of
     * it: the same page rule, objects and compression, nothing written).
     *
     * @param contentBytes              the uncompressed bytes its objects would hold
     * @param objectBytes               what those objects would take in the repository
     * @param predictedIncrementalBytes objectBytes plus the WAL the backup stores with itself and
     *                                  its block map: the next incremental's repositoryBytes
     */
    public record Change(String sinceBackup, String sinceType, String sinceStartTime, double hoursSince, boolean checkpointed,
                         String compression, int files, int changedFiles, int newFiles, long pagesAsDeltas, long contentBytes,
                         long objectBytes, long changedFilesBytes, long predictedIncrementalBytes) {
    }

    /**
     * WAL written per hour. {@code source} is {@code archive}, {@code backups} or {@code unknown};
     * {@code detail} says what was measured, or why nothing could be.
     *
     * @param storedRatio stored bytes over WAL bytes (the archive's own, or measured on pg_wal)
     * @param spanHours   the time the rate was measured over
     */
    public record Wal(String source, Double bytesPerHour, Double storedBytesPerHour, Double storedRatio, Double spanHours, String detail) {
        public boolean known() {
            return bytesPerHour != null;
        }
    }

    /**
     * This machine's restore speed, measured on a sample of the newest full's objects: read,
     * decompress and checksum ({@code readMBps}); write and fsync into {@code scratchDir}
     * ({@code writeMBps}); both one after the other ({@code mbps}).
     */
    public record RestoreRate(double readMBps, double writeMBps, double mbps, long sampleBytes, int sampleFiles, double seconds,
                              String fromBackup, String scratchDir) {
    }

    /**
     * One strategy's predictions. Bytes are added to the repository; per day is a week's / 7.
     * Restore times are for restoring the files (no server start, no WAL replay); the point's
     * description says what a restore of it reads. {@code walToReplayBytes} is WAL that recovery
     * replays on top (only base backup + WAL), which is not in the times.
     */
    public record Strategy(String strategy, Long bytesPerDay, Long bytesPerWeek, Double restoreLatestSeconds, String latestReads,
                           Double restoreWeekOldSeconds, String weekOldReads, Long walToReplayBytes) {
    }
}
