package org.pgstrata.api;

import java.util.List;

/**
 * What {@code expire} removed (or, with {@code dryRun}, would remove) and kept. The JSON field
 * names are a stable interface for scripts.
 *
 * @param removed        the backups removed, in the order they were removed (dependants first)
 * @param kept           the backups kept, physical ones first, oldest first, each with the rule that keeps it
 * @param bytesFreed     the stored bytes of the removed backups' objects that no kept backup reads (from the manifests)
 * @param walSegments    archived WAL segments removed (.partial ones included)
 * @param walOtherFiles  archived .backup history files removed with them
 * @param walBytes       the stored bytes of those archived WAL files
 * @param walKeptFrom    the start LSN of the oldest kept physical backup, before which WAL went; null when WAL was not touched
 * @param leftovers      the backup directories without a manifest that nothing reads (what a killed backup, or a delete or expire
 *                       stopped midway, left) removed with them
 * @param warnings       one line each: a full kept but not counted toward --retain-full, as it does not restore from what the
 *                       repository holds (a segment of its own WAL missing from the archive, or damaged)
 */
public record ExpireResult(boolean dryRun, List<Backup> removed, List<Backup> kept, long bytesFreed, int walSegments, int walOtherFiles,
                           long walBytes, String walKeptFrom, List<String> leftovers, List<String> warnings) {
    public ExpireResult {
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /**
     * One backup and why it goes or stays.
     *
     * @param type      full, incr, diff, reverse, logical-full or logical-diff
     * @param stopTime  when it stopped (ISO-8601 UTC)
     * @param reason    e.g. "older than the 2 newest fulls", or "needed by 20260101-000000I"
     */
    public record Backup(String id, String type, String stopTime, String reason) {
    }
}
