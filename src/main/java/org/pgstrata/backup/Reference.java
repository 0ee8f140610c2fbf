package org.pgstrata.backup;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Page;
import org.pgstrata.postgres.RelationFile;

/**
 * The backup an incremental or differential is built on, and the rule (DESIGN.md, "Why pgstrata
 * reads pages itself") that decides which blocks of a file are stored again.
 */
final class Reference {
    /** A file as the reference backup holds it. */
    record Held(long size, String checksum, String definedIn, ObjectRef wholeObject) {
        long blocks() {
            return size / Page.SIZE;
        }
    }

    private final Manifest manifest;
    private final Lsn start;
    private final Map<String, Held> files = new HashMap<>();

    private Reference(Manifest manifest) {
        this.manifest = manifest;
        this.start = Lsn.parse(manifest.startLsn());
        for (FileEntry f : manifest.files()) {
            String definedIn = f.isUnchanged() ? f.reference() : manifest.id();
            ObjectRef whole = f.isPages() ? null : f.object();
            files.put(f.path(), new Held(f.size(), f.checksum(), definedIn, whole));
        }
    }

    /**
     * The backup to build on: the newest backup for an incremental, the newest full for a
     * differential; null when there is no full to build on. {@code backups} is oldest first.
     */
    static Manifest choose(List<Manifest> backups, BackupType type) {
        boolean anyFull = backups.stream().anyMatch(m -> m.type().equals(BackupType.FULL.label()));
        if (!anyFull) {
            return null;
        }
        for (int i = backups.size() - 1; i >= 0; i--) {
            Manifest m = backups.get(i);
            if (type == BackupType.INCR || m.type().equals(BackupType.FULL.label())) {
                return m;
            }
        }
        return null;
    }

    /**
     * Checks that a backup starting at {@code start} on {@code timeline} of system
     * {@code systemIdentifier} can be built on {@code ref}: same system, same timeline, and
     * later than the reference. Otherwise pages changed on another history could look unchanged.
     */
    static Reference check(Manifest ref, String systemIdentifier, int timeline, Lsn start, String type) {
        if (!ref.systemIdentifier().equals(systemIdentifier)) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, belongs to system " + ref.systemIdentifier() + ", but the cluster is " + systemIdentifier,
                    "take a full backup (--type full) into a repository of this cluster");
        }
        if (ref.timeline() != timeline) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, is on timeline " + ref.timeline() + ", but the cluster is now on timeline " + timeline
                    + "; pages changed on the other timeline could be missed",
                    "take a full backup (--type full) to start a chain on timeline " + timeline);
        }
        if (start.isBefore(Lsn.parse(ref.stopLsn()))) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, ends at " + ref.stopLsn() + ", after this backup's start " + start
                    + "; the cluster is not a continuation of it",
                    "take a full backup (--type full)");
        }
        return new Reference(ref);
    }

    Manifest manifest() {
        return manifest;
    }

    String id() {
        return manifest.id();
    }

    Held file(String path) {
        return files.get(path);
    }

    /** Relation main forks are stored page by page; every other file is stored whole or found unchanged. */
    static boolean byPages(String path) {
        if (!DataDirectoryScan.isRelationDataPath(path)) {
            return false;
        }
        return RelationFile.parse(path.substring(path.lastIndexOf('/') + 1)).map(RelationFile::isMainFork).orElse(false);
    }

    /** True when block {@code block} (numbered within the file) must be stored again. */
    boolean changed(byte[] buf, int off, long block, Held held) {
        if (block >= held.blocks()) {
            return true;
        }
        Lsn lsn = Page.lsn(buf, off);
        return lsn.value() == 0 || !lsn.isBefore(start);
    }
}
