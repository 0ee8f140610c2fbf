package org.pgstrata.backup;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.Storage;

/**
 * Removes a backup from a repository. A backup that others build on (incrementals, differentials,
 * unchanged files pointing at its objects) is kept unless its dependants go with it, each only
 * once no remaining one names it (newest first, but an older reverse delta before the newer one it
 * lies over), so that at every moment each remaining backup still restores.
 */
public final class BackupRemoval {
    private final Clock clock;
    private final Progress progress;

    public BackupRemoval(Clock clock, Progress progress) {
        this.clock = clock;
        this.progress = progress;
    }

    /** Returns the ids removed, in the order they were removed. */
    public List<String> run(String repoLocation, String id, boolean withDependants) {
        try (Repository repo = Repository.open(repoLocation);
             Storage.RepositoryLock lock = repo.lock("delete", clock)) {
            repo.requireInfo();
            if (repo.incompleteLogical(id)) {
                // What an interrupted earlier delete (manifest gone, objects not yet) or a failed backup left: finished here.
                // We hold the lock: nobody writes it.
                progress.step("removing what an interrupted earlier run left of logical backup " + id);
                repo.removeIncompleteLogical(id);
                return List.of(id);
            }
            if (repo.logicalIds().contains(id)) {
                return removeLogical(repo, id, withDependants);
            }
            // Checked: a backup damaged in its file list is damaged here too, and removed as such (the dependants' walk reads every list anyway).
            Repository.Catalogue<Manifest> catalogue = repo.checkedCatalogue();
            List<Manifest> backups = catalogue.backups();
            boolean damaged = catalogue.damaged().containsKey(id);
            if (!damaged && backups.stream().noneMatch(m -> m.id().equals(id))) {
                if (repo.incompleteBackup(id) && !repo.onlyObjectsOthersRead(id)) {
                    // A directory without a manifest: what an interrupted earlier delete or expire (manifest gone, objects
                    // not yet) or a failed backup left. Running the delete again finishes it; we hold the lock: nobody writes it.
                    progress.step("removing what an interrupted earlier run left of backup " + id);
                    repo.removeIncomplete(id);
                    return List.of(id);
                }
                // says the backup does not exist (its directory, if any, holds only what other backups read), or is a logical one
                repo.manifest(id);
            }
            // Refused here rather than by the first removal, after a "removing backup" line that nothing followed.
            repo.requireOthersReadable(catalogue, damaged ? java.util.Set.of(id) : java.util.Set.of());
            List<Manifest> dependants = removalOrder(Repository.dependants(id, backups));
            List<String> ids = dependants.stream().map(Manifest::id).toList();
            if (!dependants.isEmpty() && !withDependants) {
                throw new PgstrataException(ErrorCode.HAS_DEPENDANTS, "backup " + id + " was not removed: " + dependants.size()
                        + " backup(s) build on it (" + String.join(", ", ids) + ") and could no longer be restored",
                        "remove them with it: pgstrata delete --repo " + repo.describe() + " --backup " + id + " --with-dependants");
            }
            // The directories whose objects the removed backups read besides their own: a reverse delta's old pages lie
            // in the newer full's directory, which removeBackup does not collect.
            java.util.Set<String> directories = new java.util.LinkedHashSet<>();
            dependants.forEach(m -> objectDirectories(m, directories));
            backups.stream().filter(m -> m.id().equals(id)).forEach(m -> objectDirectories(m, directories));
            List<String> removed = new ArrayList<>();
            for (String victim : ids) {
                progress.step("removing backup " + victim + ", which builds on " + id);
                repo.removeBackup(victim, damaged ? java.util.Set.of(id) : java.util.Set.of());
                removed.add(victim);
                org.pgstrata.api.TestHooks.haltAt("delete-dependant-removed");
            }
            progress.step("removing backup " + id);
            if (damaged) {
                // Its manifest cannot say what it reads; objects of its directory that intact backups read are kept.
                repo.removeDamagedBackup(id);
            } else {
                repo.removeBackup(id);
            }
            removed.add(id);
            // The dependants removed first collected their own directories while the backups still to go read from them (the
            // newer fulls of a reverse series read the unchanged files where older ones stored them): collected again now.
            // Only the last one removed collected its own with nothing left to read it.
            directories.remove(id);
            if (!directories.isEmpty()) {
                repo.collectGarbage(directories); // only what no remaining manifest reads
            }
            return removed;
        } catch (java.io.IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot release the lock of " + repoLocation + ": " + e.getMessage(),
                    "remove the lock file by hand once no pgstrata command runs");
        }
    }

    /** Adds the backup directories of the objects {@code m} reads (its own among them) to {@code into}. */
    private static void objectDirectories(Manifest m, java.util.Set<String> into) {
        into.add(m.id());
        m.files().stream().map(f -> f.object()).filter(o -> o != null && o.backup() != null).forEach(o -> into.add(o.backup()));
        m.wal().stream().map(w -> w.object().backup()).filter(b -> b != null).forEach(into::add);
    }

    /**
     * {@code newestFirst} in the order to remove them: newest first, except that a backup waits
     * while another one still to be removed names it. An older reverse delta names the newer one
     * it lies over, so newest first alone would leave it, should the removal stop there, a backup
     * whose chain is gone.
     */
    static List<Manifest> removalOrder(List<Manifest> newestFirst) {
        List<Manifest> remaining = new ArrayList<>(newestFirst);
        List<Manifest> order = new ArrayList<>();
        while (!remaining.isEmpty()) {
            Manifest next = null;
            for (Manifest m : remaining) {
                if (remaining.stream().noneMatch(o -> o != m && Repository.references(o).contains(m.id()))) {
                    next = m;
                    break;
                }
            }
            if (next == null) { // references only point along a chain; should they loop, they all go anyway
                next = remaining.get(0);
            }
            remaining.remove(next);
            order.add(next);
        }
        return order;
    }

    /** A logical full's differentials depend on it; a differential has no dependants. */
    private List<String> removeLogical(Repository repo, String id, boolean withDependants) {
        java.util.Map<String, String> damaged = repo.damagedLogical();
        if (!damaged.containsKey(id) && !repo.logicalManifest(id).differential()) { // says plainly when the backup is incomplete
            // A damaged differential (one that lost its manifest among them) may build on this full: nobody can read which
            // full it names. Kept, it would lose the full it needs, and its manifest put back would no longer restore it.
            var d = damaged.isEmpty() ? null : new java.util.TreeMap<>(damaged).firstEntry();
            if (d != null) {
                throw new PgstrataException(ErrorCode.CORRUPT, "cannot tell which logical differentials build on logical full " + id
                        + ": logical backup " + d.getKey() + " cannot be read (" + d.getValue() + "); nothing was removed",
                        "run 'pgstrata verify --repo " + repo.describe() + "', and put the damaged backup's manifest back or delete it first");
            }
        }
        List<String> ids = repo.logicalBackups().stream().filter(m -> id.equals(m.reference())).map(m -> m.id())
                .sorted(java.util.Comparator.reverseOrder()).toList();
        if (!ids.isEmpty() && !withDependants) {
            throw new PgstrataException(ErrorCode.HAS_DEPENDANTS, "backup " + id + " was not removed: " + ids.size()
                    + " logical differential(s) build on it (" + String.join(", ", ids) + ") and could no longer be restored",
                    "remove them with it: pgstrata delete --repo " + repo.describe() + " --backup " + id + " --with-dependants");
        }
        List<String> removed = new ArrayList<>();
        for (String victim : ids) {
            progress.step("removing logical backup " + victim + ", which builds on " + id);
            repo.removeLogical(victim);
            removed.add(victim);
        }
        progress.step("removing logical backup " + id);
        repo.removeLogical(id);
        removed.add(id);
        return removed;
    }
}
