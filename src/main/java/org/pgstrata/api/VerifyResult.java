package org.pgstrata.api;

import java.util.List;

/**
 * What verify found: objects checked, and every problem with the object it concerns. Also the
 * orphans, which are no problem for any backup: backups without a manifest ({@code incomplete}:
 * left by a failed run, or one still running, which verify cannot tell apart: it takes no
 * lock), and writes that were started and never finished ({@code unfinished}: an S3 multipart
 * upload or a temporary file of a killed process), which no listing shows.
 *
 * @param rejected     the backups a restore would refuse (or fail on), by what verify found
 * @param filesRebuilt files of the checked backups rebuilt through their chains and compared with their checksums
 *                     (a file several backups hold alike counts once for each)
 * @param bytesRebuilt the bytes of those files
 * @param passes       how many times files were rebuilt: files that backups of a chain hold alike, or that lie over
 *                     the same whole file, are rebuilt together in one pass, each object read once
 * @param seconds      how long it took
 * @param unreadable   files that could not be checked because the store failed to deliver an object (a connection
 *                     that failed again and again): no verdict on those backups either way, unlike {@code problems}
 */
public record VerifyResult(int backups, long objects, long bytes, List<String> problems, List<String> incomplete, List<String> unfinished,
                           List<String> rejected, long filesRebuilt, long bytesRebuilt, long passes, double seconds, List<String> unreadable) {
    /** Whether every backup was checked and found sound. */
    public boolean ok() {
        return problems.isEmpty() && unreadable.isEmpty();
    }
}
