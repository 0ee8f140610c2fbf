package org.pgstrata.api;

import java.util.List;

/**
 * What verify found: objects checked, and every problem with the object it concerns. Also the
 * orphans, which are no problem for any backup: backups left without a manifest by a failed run
 * ({@code incomplete}), and writes that were started and never finished ({@code unfinished}: an
 * S3 multipart upload or a temporary file of a killed process), which no listing shows.
 */
public record VerifyResult(int backups, long objects, long bytes, List<String> problems, List<String> incomplete, List<String> unfinished) {
    public boolean ok() {
        return problems.isEmpty();
    }
}
