package org.pgstrata.manifest;

import java.util.List;

/**
 * What one backup is: plain, immutable data, written last (a backup exists if and only if its
 * manifest does). A backup built on another names it in {@code reference}; a full has none.
 * LSNs are in PostgreSQL's text form, times in ISO-8601 UTC.
 *
 * @param dataBytes       the size of the data directory files the backup describes
 * @param repositoryBytes the bytes this backup itself added to the repository (its objects)
 * @param walSource       where the WAL from start to stop is: {@link #WAL_IN_BACKUP} or {@link #WAL_IN_ARCHIVE}
 * @param dataChecksums   whether the cluster had data checksums on when the backup was taken (null: not recorded, before
 *                        format 2)
 * @param blockMap        the backup's block map (see {@link BlockMap}): the XXH64 of every 8 KiB block of every file as
 *                        this backup read it, which the next incremental compares against; null before format 2
 * @param externalConfig  configuration files the server read from outside the data directory (their content is among
 *                        {@code files}: see {@link ExternalConfig}); null when there were none, and in older manifests.
 *                        Older pgstrata versions read such a manifest too, and restore those files under
 *                        {@link ExternalConfig#PREFIX} without moving them into place.
 * @param changeSource    how an incremental or differential found what changed: "scan" (every block read and compared
 *                        with the reference's block map) or "wal-summary" (only the blocks PostgreSQL's WAL summaries name);
 *                        null for a full, and in older manifests
 */
public record Manifest(
        int formatVersion,
        String id,
        String type,
        String reference,
        String systemIdentifier,
        int pgVersionNum,
        int timeline,
        String startLsn,
        String stopLsn,
        String startTime,
        String stopTime,
        String compression,
        String backupLabel,
        String tablespaceMap,
        List<DirectoryEntry> directories,
        @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = Manifest.FilesOrSkipped.class) List<FileEntry> files,
        List<WalEntry> wal,
        long dataBytes,
        long repositoryBytes,
        String pgstrataVersion,
        String walSource,
        Boolean dataChecksums,
        ObjectRef blockMap,
        java.util.List<ExternalConfig> externalConfig,
        String changeSource,
        String lineage) {

    /**
     * 2: the block map and the data checksums setting are recorded. Format 1 manifests are still
     * read; an incremental on one stores its relation files whole (nothing to compare blocks with).
     */
    public static final int FORMAT_VERSION = 4;
    /** What a backup taken by the WAL summaries writes: see {@link #FORMAT_SCANNED}. */
    public static final int FORMAT_SUMMARIES = 3;
    /**
     * Format 4 may hold a file's stored blocks as a {@code blockBitmap} ({@link BlockList}) where
     * earlier formats always have a {@code blocks} array; {@link Repository#writeManifest} writes
     * it only for manifests that have one, so that older pgstrata versions refuse those by their
     * version instead of reading a pages entry without its blocks.
     */
    public static final int FORMAT_BITMAP = 4;
    /**
     * What a backup that read every block writes: format 2, which older pgstrata versions read.
     * Format 3 adds {@code changeSource} and checksums in block form ({@link Checksum#BLOCKS_PREFIX})
     * for files of which only the changed blocks were read; only backups taken by the WAL
     * summaries are written in it.
     */
    public static final int FORMAT_SCANNED = 2;
    /** The WAL from start to stop is stored with the backup. */
    public static final String WAL_IN_BACKUP = "backup";
    /** The WAL from start to stop is in the repository's archive. */
    public static final String WAL_IN_ARCHIVE = "archive";

    /** This manifest in the lowest format that can hold it: at least {@link #FORMAT_BITMAP} once a file's blocks are a bitmap. */
    public Manifest inFormatItNeeds() {
        if (formatVersion >= FORMAT_BITMAP || files == null || files.stream().noneMatch(FileEntry::needsBitmapReader)) {
            return this;
        }
        return new Manifest(FORMAT_BITMAP, id, type, reference, systemIdentifier, pgVersionNum, timeline, startLsn, stopLsn, startTime,
                stopTime, compression, backupLabel, tablespaceMap, directories, files, wal, dataBytes, repositoryBytes, pgstrataVersion,
                walSource, dataChecksums, blockMap, externalConfig, changeSource, lineage);
    }

    /** This manifest with another list of the same files (see {@link SoftFiles}). */
    Manifest withFiles(List<FileEntry> same) {
        return new Manifest(formatVersion, id, type, reference, systemIdentifier, pgVersionNum, timeline, startLsn, stopLsn, startTime,
                stopTime, compression, backupLabel, tablespaceMap, directories, same, wal, dataBytes, repositoryBytes, pgstrataVersion,
                walSource, dataChecksums, blockMap, externalConfig, changeSource, lineage);
    }

    /**
     * What {@code files} holds in a manifest read for its header only (see {@link FilesOrSkipped}):
     * the list was there and was skipped, not read.
     */
    static final List<FileEntry> UNREAD = java.util.Collections.unmodifiableList(new java.util.ArrayList<>());

    /**
     * Reads the file list, or with the attribute {@link #SKIP_FILES} set skips it token by token
     * and gives {@link #UNREAD}: the catalogue needs every backup's header, and a command most
     * backups' files never (parsing them was most of a command's start on a repository of many
     * backups of a cluster of many files).
     */
    static final class FilesOrSkipped extends com.fasterxml.jackson.databind.deser.std.StdDeserializer<List<FileEntry>> {
        static final String SKIP_FILES = "pgstrata.manifest.skipFiles";

        FilesOrSkipped() {
            super(List.class);
        }

        @Override
        public List<FileEntry> deserialize(com.fasterxml.jackson.core.JsonParser p, com.fasterxml.jackson.databind.DeserializationContext ctxt)
                throws java.io.IOException {
            if (Boolean.TRUE.equals(ctxt.getAttribute(SKIP_FILES))) {
                if (!p.isExpectedStartArrayToken()) {
                    return ctxt.reportInputMismatch(this, "files is not an array");
                }
                p.skipChildren();
                return UNREAD;
            }
            return ctxt.readValue(p, ctxt.getTypeFactory().constructCollectionType(List.class, FileEntry.class));
        }
    }

    /** The external configuration files, never null. */
    public java.util.List<ExternalConfig> externalConfigOrEmpty() {
        return externalConfig == null ? java.util.List.of() : externalConfig;
    }

    public boolean walInArchive() {
        return WAL_IN_ARCHIVE.equals(walSource);
    }

    public int pgMajor() {
        return pgVersionNum / 10000;
    }

    /** This full, kept as a reverse delta over the newer full {@code newer}: the same point, other files. */
    public Manifest asReverseDelta(String newer, List<FileEntry> newFiles, long ownBytes) {
        return new Manifest(formatVersion, id, Chain.REVERSE, newer, systemIdentifier, pgVersionNum, timeline, startLsn, stopLsn,
                startTime, stopTime, compression, backupLabel, tablespaceMap, directories, newFiles, wal, dataBytes, ownBytes,
                pgstrataVersion, walSource, dataChecksums, blockMap, externalConfig, changeSource, lineage);
    }
}
