package org.pgstrata.backup;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.TestHooks;
import org.pgstrata.api.Sizes;
import org.pgstrata.manifest.BlockList;
import org.pgstrata.manifest.Chain;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.manifest.Rebuild;
import org.pgstrata.manifest.Repository;
import org.pgstrata.postgres.Page;
import org.pgstrata.storage.CorruptObjectException;

/**
 * Turns the previous full into a reverse delta over the new full, once the new full is durable
 * (invariant 4). Copy-on-write: the old pages it needs go into new objects, the old manifest is
 * replaced in one atomic write, and only then are the old objects that nothing reads any more
 * deleted. A crash before the replacement leaves two fulls; after it, one full and a reverse
 * delta; during the deletion, some unread objects, which the next removal collects.
 */
final class ReverseDelta {
    private final Repository repo;
    private final Progress progress;

    ReverseDelta(Repository repo, Progress progress) {
        this.repo = repo;
        this.progress = progress;
    }

    /**
     * @param old     the full that the new full was built from
     * @param now     the new full, already written
     * @param changed for each relation file stored anew in {@code now}, the blocks that changed since {@code old}
     * @param writing where the old pages are written: the repository's objects at the backup's level ({@link ObjectStore#atLevel})
     */
    void convert(Manifest old, Manifest now, Map<String, BlockList> changed, Compression compression, ObjectStore writing) {
        progress.step("turning full backup " + old.id() + " into a reverse delta over " + now.id());
        Map<String, FileEntry> newFiles = new HashMap<>();
        now.files().forEach(f -> newFiles.put(f.path(), f));
        List<FileEntry> needPages = old.files().stream().filter(e -> needsPages(e, newFiles.get(e.path()), changed.get(e.path()))).toList();
        List<FileEntry> files = new ArrayList<>();
        int done = 0;
        long pages = 0;
        int keptWhole = 0;
        try {
            for (FileEntry e : old.files()) {
                if (!needPages.contains(e)) {
                    files.add(e); // unchanged (the new full reads the same object), or kept whole
                    continue;
                }
                FileEntry n = newFiles.get(e.path());
                FileEntry rev = oldPages(e, n, changed.get(e.path()), now.id(), compression, writing);
                // Invariant 9: the old point must rebuild from the new full and the old pages exactly as it was, or it stays whole.
                String why = proveRebuild(e, n, rev, now.id());
                if (why != null) {
                    // Its unread old-pages object goes with the next reverse backup's garbage collection.
                    progress.warn("kept " + e.path() + " of " + old.id() + " whole: " + why);
                    files.add(e);
                    keptWhole++;
                } else {
                    pages += rev.blocks().size();
                    files.add(rev);
                }
                if (++done == (needPages.size() + 1) / 2) {
                    TestHooks.haltAt("reverse-middle");
                }
            }
        } catch (CorruptObjectException ex) {
            // The old full's own copy is damaged: it does not restore, whatever the conversion would have done.
            throw new PgstrataException(ErrorCode.CORRUPT, "could not turn " + old.id() + " into a reverse delta: " + ex.getMessage()
                    + "; it stays as it was, damaged, and the new full " + now.id() + " is complete", "the new full restores; " + old.id()
                    + " and the backups that build on it may not: run 'pgstrata verify' to see which, and delete them", ex);
        } catch (IOException ex) {
            throw new PgstrataException(ErrorCode.IO, "could not turn " + old.id() + " into a reverse delta: " + ex.getMessage()
                    + "; it stays a full, and the new full " + now.id() + " is complete", "nothing is lost: both restore, and " + old.id() + " keeps the room of a full until expire removes it "
                    + "(the next reverse backup turns " + now.id() + " into a reverse delta, not it); fix the cause before then", ex);
        }
        Set<String> inNew = new HashSet<>();
        now.files().stream().map(FileEntry::object).filter(o -> o != null).forEach(o -> inNew.add(o.key() + "@" + o.start()));
        Set<String> counted = new HashSet<>();
        long own = 0;
        for (FileEntry f : files) {
            ObjectRef o = f.object();
            if (o != null && !inNew.contains(o.key() + "@" + o.start()) && counted.add(o.key() + "@" + o.start())) {
                own += o.storedBytes();
            }
        }
        own += old.wal().stream().mapToLong(w -> w.object().storedBytes()).sum();
        if (old.blockMap() != null) {
            own += old.blockMap().storedBytes();
        }
        repo.writeManifest(old.asReverseDelta(now.id(), files, own));
        TestHooks.haltAt("reverse-swapped");
        int removed = repo.collectGarbage(old.id());
        progress.step(old.id() + " is now a reverse delta over " + now.id() + ": " + pages + " old pages of " + (needPages.size() - keptWhole)
                + " files" + (keptWhole == 0 ? "" : ", " + keptWhole + " files kept whole") + ", " + Sizes.human(own) + "; " + removed
                + " objects no backup reads any more were removed");
    }

    /**
     * Rebuilds the old file from the reverse delta's pages over the new full's file, as a
     * restore of the old point would, reading both objects back from the repository; null when
     * it gives the old full's content exactly, otherwise what went wrong.
     */
    private String proveRebuild(FileEntry old, FileEntry now, FileEntry rev, String nowId) throws IOException {
        List<Chain.Layer> layers = List.of(new Chain.Layer(nowId, rev.object(), rev.blocks(), rev.size()),
                new Chain.Layer(nowId, now.object(), null, now.size()));
        Rebuild.Target t = new Rebuild.Target(old.path(), layers, old.size(), old.checksum(), null, false);
        try {
            Rebuild.run(repo.objects(), List.of(t), null);
        } catch (CorruptObjectException e) {
            return "its rebuild from " + nowId + " failed: " + e.getMessage();
        }
        return t.matches() ? null : "its old pages over " + nowId + " rebuild it with checksum " + t.actual() + ", not " + old.checksum();
    }

    /** A file the old full holds whole and the new full stored anew with known changed blocks. */
    private static boolean needsPages(FileEntry old, FileEntry now, BlockList changed) {
        return now != null && changed != null && old.isWhole() && now.isWhole()
                && !(old.size() == now.size() && old.checksum().equals(now.checksum()));
    }

    /**
     * The old versions of the blocks that differ: those that changed, and those past the new
     * file's end; laid over the new full's file and cut to the old size, they give the old file.
     */
    private FileEntry oldPages(FileEntry old, FileEntry now, BlockList changed, String nowId, Compression compression,
            ObjectStore writing) throws IOException {
        long oldBlocks = (old.size() + Page.SIZE - 1) / Page.SIZE;
        long newBlocks = (now.size() + Page.SIZE - 1) / Page.SIZE;
        java.util.BitSet need = new java.util.BitSet((int) oldBlocks);
        for (BlockList.Cursor c = changed.cursor(); c.hasNext(); ) {
            long b = c.next();
            if (b < oldBlocks) {
                need.set((int) b);
            }
        }
        if (newBlocks < oldBlocks) {
            need.set((int) newBlocks, (int) oldBlocks);
        }
        if (need.isEmpty()) {
            return FileEntry.pages(old.path(), old.size(), old.mode(), old.checksum(), nowId, null, BlockList.EMPTY, org.pgstrata.manifest.Checksum.EMPTY);
        }
        String key = Repository.BACKUP_PREFIX + nowId + "/reverse/" + PhysicalBackup.objectName(old.path()) + compression.suffix();
        byte[] page = new byte[Page.SIZE];
        try (InputStream in = repo.objects().open(old.object());
             ObjectStore.PendingObject out = writing.createPages(nowId, key, compression)) {
            for (long b = 0; b < oldBlocks; b++) {
                int len = (int) Math.min(Page.SIZE, old.size() - b * Page.SIZE);
                if (in.readNBytes(page, 0, len) != len) {
                    throw new IOException("object " + old.object().key() + " ends before block " + b + " of " + old.path());
                }
                if (need.get((int) b)) {
                    java.util.Arrays.fill(page, len, Page.SIZE, (byte) 0);
                    out.content().write(page, 0, Page.SIZE);
                }
            }
            in.transferTo(java.io.OutputStream.nullOutputStream()); // to the end, so that the stored checksum is checked
            ObjectStore.Stored stored = out.finish();
            return FileEntry.pages(old.path(), old.size(), old.mode(), old.checksum(), nowId, stored.ref(),
                    BlockList.of(need.stream().asLongStream().toArray()),
                    stored.contentChecksum());
        }
    }
}
