package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.storage.fs.FileStorage;

/**
 * The catalogue (every manifest of the repository, read by list and by every command that chooses
 * among backups) holds the file lists softly: a repository whose manifests together need more
 * heap than the JVM has is still read and walked, and a list read again must be the one read first.
 */
class SoftFilesTest {
    @TempDir
    Path dir;

    static final String SYSTEM = "7000000000000000001";

    /** A chain: a full, then incrementals on the previous backup, {@code files} files each with its own object and checksum. */
    static List<String> write(Repository repo, int backups, int files) {
        List<String> ids = new ArrayList<>();
        for (int b = 0; b < backups; b++) {
            String id = String.format("20261201-%06d%s", b, b == 0 ? "F" : "I");
            List<FileEntry> entries = new ArrayList<>(files);
            for (int i = 0; i < files; i++) {
                ObjectRef o = new ObjectRef(id, Repository.BACKUP_PREFIX + id + "/bundle/0-" + (i / 500) + ".zst", "zstd", 150,
                        String.format("%016x", (long) b * files + i), (long) i * 150);
                entries.add(FileEntry.whole(String.format("base/16384/%d", 200000 + i), 16384 + b, "rw-------",
                        String.format("%016x", ((long) b * files + i) * 104729L), o));
            }
            Manifest m = new Manifest(Manifest.FORMAT_SCANNED, id, b == 0 ? "full" : "incr", b == 0 ? null : ids.get(b - 1), SYSTEM, 170004,
                    1, "0/" + Long.toHexString(0x1000000L * (b + 1)), "0/" + Long.toHexString(0x1000000L * (b + 1) + 0x100), "t" + b,
                    "2026-12-01T00:00:" + String.format("%02d", b) + "Z", "zstd", null, null, List.of(), entries, List.of(), 0, 0, "test",
                    Manifest.WAL_IN_ARCHIVE, true, null, null, null, null);
            repo.writeManifest(m);
            ids.add(id);
        }
        return ids;
    }

    static Repository repository(Path dir) {
        Repository repo = Repository.on(new FileStorage(dir));
        repo.initialize(SYSTEM, 17, Clock.systemUTC());
        return repo;
    }

    /** Rewrites (and seals again) the manifest of {@code id} so that its sixth file is said to be in an object of backup {@code other}. */
    private static void nameAnotherBackupsObject(Repository repo, String id, String other) {
        Manifest m = repo.manifest(id);
        List<FileEntry> edited = new ArrayList<>(m.files());
        FileEntry f = edited.get(5);
        ObjectRef elsewhere = new ObjectRef(id, Repository.BACKUP_PREFIX + other + "/bundle/0-0.zst", "zstd", 150, f.object().storedChecksum(), 0L);
        edited.set(5, FileEntry.whole(f.path(), f.size(), f.mode(), f.checksum(), elsewhere));
        repo.writeManifest(m.withFiles(edited));
    }

    /**
     * The catalogue reads each manifest's header and skips its file list (parsing every list was
     * most of a command's start on a repository of many backups): a list is read, and its entries
     * checked, when it is first used. One whose entry names another backup's object (an edit
     * sealed again) is refused then; the checked catalogue (verify, expire) counts it damaged.
     */
    @Test
    void theCatalogueReadsHeadersOnly_aListIsReadAndCheckedWhenFirstUsed() {
        Repository repo = repository(dir);
        List<String> ids = write(repo, 3, 500);
        nameAnotherBackupsObject(repo, ids.get(2), ids.get(0));

        List<Manifest> all = repo.catalogue().backups();
        assertThat(all).extracting(Manifest::id).containsExactlyElementsOf(ids);
        for (Manifest m : all) {
            assertThat(((SoftFiles) m.files()).held()).as("file list of %s read with the catalogue", m.id()).isFalse();
        }
        assertThat(all.get(1).files()).hasSize(500);
        assertThat(((SoftFiles) all.get(1).files()).held()).isTrue();
        assertThat(Repository.references(all.get(1))).containsExactly(ids.get(0));
        assertThatThrownBy(() -> all.get(2).files().size()).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("manifest of backup " + ids.get(2) + " is corrupt").hasMessageContaining("which is not that backup's")
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT));

        Repository.Catalogue<Manifest> checked = repo.checkedCatalogue();
        assertThat(checked.backups()).extracting(Manifest::id).containsExactly(ids.get(0), ids.get(1));
        assertThat(checked.problems()).containsOnlyKeys(ids.get(2));
        assertThat(repo.backups()).extracting(Manifest::id).containsExactly(ids.get(0), ids.get(1));
    }

    /**
     * A backup whose damage is in its file list (an entry naming another backup's object) is
     * damaged to delete as to verify: deleting it removes it (its manifest cannot say what it
     * reads, so the objects intact backups read are kept), as it did when the catalogue read
     * every list. Found by the catalogue's header alone, it was taken for intact, and its list,
     * first read by the dependants' walk, refused the deletion that the error itself advises.
     */
    @Test
    void aBackupWhoseFileListIsDamaged_canBeDeleted() {
        Repository repo = repository(dir);
        List<String> ids = write(repo, 3, 20);
        nameAnotherBackupsObject(repo, ids.get(2), ids.get(0));
        assertThat(repo.damagedBackups()).containsOnlyKeys(ids.get(2));

        List<String> removed = new org.pgstrata.backup.BackupRemoval(Clock.systemUTC(), org.pgstrata.api.Progress.NONE)
                .run(dir.toString(), ids.get(2), false);
        assertThat(removed).containsExactly(ids.get(2));
        try (Repository again = Repository.open(dir.toString())) {
            assertThat(again.backups()).extracting(Manifest::id).containsExactly(ids.get(0), ids.get(1));
            assertThat(again.damagedBackups()).isEmpty();
        }
    }

    @Test
    void aListReadAgain_isTheSame_andAManifestChangedInBetweenIsAnError() {
        Repository repo = repository(dir);
        List<String> ids = write(repo, 2, 1000);
        List<Manifest> all = repo.catalogue().backups();
        SoftFiles first = (SoftFiles) all.get(0).files();
        List<FileEntry> before = List.copyOf(first);
        first.drop();
        assertThat(first.held()).isFalse();
        assertThat(first).isEqualTo(before);
        assertThat(first.held()).isTrue();
        assertThat(Repository.references(all.get(1))).containsExactly(ids.get(0));

        // The second manifest is rewritten (one file's size) after the catalogue read it.
        Manifest second = repo.manifest(ids.get(1));
        List<FileEntry> changed = new ArrayList<>(second.files());
        FileEntry f = changed.get(7);
        changed.set(7, FileEntry.whole(f.path(), f.size() + 1, f.mode(), f.checksum(), f.object()));
        repo.writeManifest(second.withFiles(changed));
        SoftFiles late = (SoftFiles) all.get(1).files();
        assertThat(late.get(7).size()).isEqualTo(f.size()); // still the list read first
        late.drop();
        assertThatThrownBy(() -> late.get(7)).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("manifest of backup " + ids.get(1) + " changed while this command ran")
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT));
    }

    /**
     * The bound: 30 backups of 20,000 files each (about 4 MB of heap per manifest, 125 MB in all)
     * are read as the catalogue, every file of every backup walked, the objects they keep and the
     * backups that depend on the first listed, in a JVM of 64 MiB of heap. Held strongly, the
     * lists did not fit.
     */
    @Test
    void aCatalogueTwiceTheHeap_isReadAndWalked_inAChildJvm() throws Exception {
        assertThat(ChildJvm.run(List.of("-Xmx64m"), ManyManifests.class, dir.toString()))
                .contains("ok 30 backups, 600000 files, 1200 objects, 29 dependants");
    }

    public static final class ManyManifests {
        public static void main(String[] args) {
            Repository repo = repository(Path.of(args[0]));
            List<String> ids = write(repo, 30, 20_000);
            List<Manifest> all = repo.catalogue().backups();
            long files = 0;
            for (int b = 0; b < all.size(); b++) {
                Manifest m = all.get(b);
                if (!m.id().equals(ids.get(b))) {
                    throw new AssertionError("backup " + b + " is " + m.id());
                }
                for (FileEntry f : m.files()) {
                    if (f.size() != 16384 + b) {
                        throw new AssertionError(m.id() + ": " + f.path() + " has size " + f.size());
                    }
                    files++;
                }
            }
            Set<String> keys = repo.referencedKeys();
            List<Manifest> dependants = Repository.dependants(ids.get(0), all);
            System.out.println("ok " + all.size() + " backups, " + files + " files, " + keys.size() + " objects, " + dependants.size()
                    + " dependants");
        }
    }
}
