package org.pgstrata.backup;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.BlockMap;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.RelationFile;
import org.pgstrata.postgres.TimelineHistory;

/**
 * The backup an incremental or differential is built on, with its block map: what each block of
 * each file held when it was read. A file is found unchanged only when its whole content has the
 * reference's checksum, and a block only when its bytes hash as the reference's did (see
 * {@link Change}); page LSNs decide nothing, since bytes can change without WAL.
 */
final class Reference {
    /**
     * A file as the reference backup holds it.
     *
     * @param hashes the hash of each block as the reference read it; null when the reference has
     *               no block map (taken by pgstrata before format 2): then no block is known unchanged
     */
    record Held(long size, String checksum, String definedIn, ObjectRef wholeObject, long[] hashes) {
        long blocks() {
            return BlockMap.blocks(size);
        }
    }

    private final Manifest manifest;
    private final BlockMap map;
    private final Map<String, FileEntry> files = new HashMap<>();

    private Reference(Manifest manifest, BlockMap map) {
        this.manifest = manifest;
        this.map = map;
        for (FileEntry f : manifest.files()) {
            files.put(f.path(), f);
        }
    }

    /**
     * {@link #choose(List, BackupType)} among the backups on {@code history}, the cluster's own
     * past ({@link #onHistory}): after a restore to an earlier point, promoted onto a new
     * timeline, the newest backups by WAL position are those of the timeline it left, after the
     * fork, which it cannot build on. When none on it would do, the choice among all, which
     * {@link #check} then refuses with the reason.
     */
    static Manifest choose(List<Manifest> backups, BackupType type, TimelineHistory history) {
        Manifest onIt = choose(backups.stream().filter(m -> onHistory(history, m.timeline(), Lsn.parse(m.stopLsn())) == null).toList(), type);
        return onIt != null ? onIt : choose(backups, type);
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
     * Checks that a backup starting at {@code start} on the cluster whose history is
     * {@code history} (its current timeline and the ancestors it forked from) can be built on
     * {@code ref}: same system, and {@code ref}'s consistency point lies on that history, before
     * this backup starts. A reference from another history (a copy restored from an older
     * backup, another primary after a failover) is refused: its pages and WAL are not this
     * cluster's past. Then reads the reference's block map. {@code startIs} names {@code start} in
     * the refusal ("this backup's start").
     */
    static Reference check(ObjectStore objects, Manifest ref, String systemIdentifier, TimelineHistory history, Lsn start, String startIs,
                           String type) {
        return check(() -> BlockMap.read(objects, ref), ref, systemIdentifier, history, start, startIs, type);
    }

    /** How the reference's block map is read: now, or by a read started earlier. */
    interface MapRead {
        BlockMap read() throws IOException;
    }

    /** {@link #check(ObjectStore, Manifest, String, TimelineHistory, Lsn, String, String)}, with its block map from {@code map}. */
    static Reference check(MapRead map, Manifest ref, String systemIdentifier, TimelineHistory history, Lsn start, String startIs,
                           String type) {
        if (!ref.systemIdentifier().equals(systemIdentifier)) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, belongs to system " + ref.systemIdentifier() + ", but the cluster is " + systemIdentifier,
                    "take a full backup (--type full) into a repository of this cluster");
        }
        Lsn refStop = Lsn.parse(ref.stopLsn());
        String onHistory = onHistory(history, ref.timeline(), refStop);
        if (onHistory != null) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, is not in this cluster's history: " + onHistory
                    + " (a copy restored from an older backup, or a server that forked from it, has a past of its own)",
                    "take a full backup (--type full) to start a chain on timeline " + history.timeline());
        }
        if (start.isBefore(refStop)) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "backup " + ref.id() + ", which the " + type
                    + " would build on, ends at " + ref.stopLsn() + ", after " + startIs + " " + start
                    + "; the cluster is not a continuation of it",
                    "take a full backup (--type full)");
        }
        try {
            return new Reference(ref, map.read());
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot read the block map of backup " + ref.id() + ", which the " + type
                    + " would build on: " + e.getMessage(), "run 'pgstrata verify'; take a full backup (--type full) meanwhile");
        }
    }

    /**
     * Null when position {@code stop} of timeline {@code tli} lies on {@code history}: on its
     * current timeline, or on an ancestor before the point where the history left it. Otherwise
     * why not.
     */
    static String onHistory(TimelineHistory history, int tli, Lsn stop) {
        if (tli == history.timeline()) {
            return null;
        }
        for (TimelineHistory.Entry e : history.ancestors()) {
            if (e.timeline() == tli) {
                return e.switchPoint().isBefore(stop) ? "it ends at " + stop + " on timeline " + tli + ", after the cluster left that timeline at "
                        + e.switchPoint() + " for timeline " + history.timeline() : null;
            }
        }
        return "it is on timeline " + tli + ", and the cluster is on timeline " + history.timeline()
                + (history.ancestors().isEmpty() ? "" : ", which descends from timeline(s) "
                + history.ancestors().stream().map(a -> Integer.toString(a.timeline())).toList());
    }

    Manifest manifest() {
        return manifest;
    }

    String id() {
        return manifest.id();
    }

    /** False for a reference taken before block maps: nothing of it can be found unchanged block by block. */
    boolean hasBlockMap() {
        return map != null;
    }

    /**
     * The file as the reference holds it, or null when it has none at {@code path}. Its hashes
     * are read from the block map now (from its temporary file when it is large): call this once
     * per file compared.
     */
    Held file(String path) throws IOException {
        FileEntry f = files.get(path);
        if (f == null) {
            return null;
        }
        String definedIn = f.isUnchanged() ? f.reference() : manifest.id();
        return new Held(f.size(), f.checksum(), definedIn, f.isPages() ? null : f.object(), map == null ? null : map.of(path));
    }

    /** Releases the block map's temporary file, if it has one. */
    void close() throws IOException {
        if (map != null) {
            map.close();
        }
    }

    /** Relation main forks are stored page by page; every other file is stored whole or found unchanged. */
    static boolean byPages(String path) {
        if (!DataDirectoryScan.isRelationDataPath(path)) {
            return false;
        }
        return RelationFile.parse(path.substring(path.lastIndexOf('/') + 1)).map(RelationFile::isMainFork).orElse(false);
    }
}
