package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.ListIterator;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/** A catalogue list read again is the same list, whatever is done with it (found in review); references() is what the loop gave. */
class SoftFilesAdversarialTest {
    @TempDir
    Path dir;

    /** A full, then an incremental whose files name the full, and a diff whose files name both (and some none). */
    private List<String> writeMixed(Repository repo) {
        String full = "20261201-000000F";
        String incr = "20261201-000001I";
        String third = "20261201-000002I";
        List<String> ids = List.of(full, incr, third);
        for (int b = 0; b < 3; b++) {
            String id = ids.get(b);
            List<FileEntry> entries = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String path = "base/16384/" + (200000 + i);
                ObjectRef o = new ObjectRef(id, Repository.BACKUP_PREFIX + id + "/bundle/0-" + i + ".zst", "zstd", 150,
                        String.format("%016x", i), 0L);
                if (b == 0 || i % 3 == 0) {
                    entries.add(FileEntry.whole(path, 8192L * 40, "rw-------", String.format("%016x", i * 7L + b), o));
                } else if (i % 3 == 1) {
                    long[] blocks = new long[20];
                    for (int k = 0; k < blocks.length; k++) {
                        blocks[k] = 2L * k + (i & 1);
                    }
                    String ref = b == 2 && i % 2 == 0 ? full : ids.get(b - 1);
                    entries.add(FileEntry.pages(path, 8192L * 40, "rw-------", String.format("%016x", i * 7L + b), ref, o,
                            BlockList.of(blocks), Checksum.EMPTY));
                } else {
                    entries.add(FileEntry.pages(path, 8192L * 40, "rw-------", String.format("%016x", i * 7L + b), ids.get(b - 1), null,
                            BlockList.EMPTY, Checksum.EMPTY));
                }
            }
            Manifest m = new Manifest(Manifest.FORMAT_SCANNED, id, b == 0 ? "full" : "incr", b == 0 ? null : ids.get(b - 1),
                    SoftFilesTest.SYSTEM, 170004, 1, "0/" + Long.toHexString(0x1000000L * (b + 1)),
                    "0/" + Long.toHexString(0x1000000L * (b + 1) + 0x100), "t" + b, "2026-12-01T00:00:0" + b + "Z", "zstd", null, null,
                    List.of(), entries, List.of(), 0, 0, "test", Manifest.WAL_IN_ARCHIVE, true, null, null, null, null);
            repo.writeManifest(m);
        }
        return ids;
    }

    private static Set<String> oldReferences(Manifest m) {
        Set<String> refs = new HashSet<>();
        if (m.reference() != null) {
            refs.add(m.reference());
        }
        for (FileEntry f : List.copyOf(m.files())) {
            if (f.reference() != null) {
                refs.add(f.reference());
            }
        }
        return refs;
    }

    @Test
    void references_areWhatTheLoopGave_forEveryManifest() {
        Repository repo = SoftFilesTest.repository(dir);
        List<String> ids = writeMixed(repo);
        List<Manifest> all = repo.catalogue().backups();
        assertThat(all).extracting(Manifest::id).containsExactlyElementsOf(ids);
        for (Manifest m : all) {
            assertThat(m.files()).isInstanceOf(SoftFiles.class);
            assertThat(Repository.references(m)).isEqualTo(oldReferences(m));
            ((SoftFiles) m.files()).drop();
            assertThat(Repository.references(m)).isEqualTo(oldReferences(m));
            assertThat(Repository.references(m)).isEqualTo(oldReferences(repo.manifest(m.id())));
        }
        assertThat(Repository.references(all.get(2))).containsExactlyInAnyOrder(ids.get(0), ids.get(1));
        assertThat(Repository.references(all.get(0))).isEmpty();
        assertThat(Repository.dependants(ids.get(0), all)).extracting(Manifest::id).containsExactlyInAnyOrder(ids.get(1), ids.get(2));
    }

    @Test
    void everyListOperation_afterADrop_seesTheSameList() {
        Repository repo = SoftFilesTest.repository(dir);
        writeMixed(repo);
        for (Manifest m : repo.catalogue().backups()) {
            SoftFiles soft = (SoftFiles) m.files();
            List<FileEntry> copy = List.copyOf(soft);
            Manifest plain = repo.manifest(m.id());
            soft.drop();
            assertThat(soft.equals(copy)).isTrue();
            soft.drop();
            assertThat(copy.equals(soft)).isTrue();
            soft.drop();
            assertThat(soft.hashCode()).isEqualTo(copy.hashCode());
            soft.drop();
            assertThat(m).isEqualTo(plain);
            soft.drop();
            assertThat(m.hashCode()).isEqualTo(plain.hashCode());
            soft.drop();
            assertThat(soft.subList(10, 20)).isEqualTo(copy.subList(10, 20));
            soft.drop();
            assertThat(soft.indexOf(copy.get(17))).isEqualTo(17);
            soft.drop();
            assertThat(soft.lastIndexOf(copy.get(299))).isEqualTo(299);
            soft.drop();
            assertThat(soft.contains(copy.get(123))).isTrue();
            soft.drop();
            assertThat(soft.stream().toList()).isEqualTo(copy);
            soft.drop();
            assertThat(soft.parallelStream().toList()).isEqualTo(copy);
            soft.drop();
            List<FileEntry> bySpliterator = new ArrayList<>();
            soft.spliterator().forEachRemaining(bySpliterator::add);
            assertThat(bySpliterator).isEqualTo(copy);
            soft.drop();
            ListIterator<FileEntry> back = soft.listIterator(soft.size());
            List<FileEntry> reversed = new ArrayList<>();
            while (back.hasPrevious()) {
                reversed.add(0, back.previous());
            }
            assertThat(reversed).isEqualTo(copy);
            // drops in the middle of index access
            for (int i = 0; i < soft.size(); i++) {
                if (i % 50 == 0) {
                    soft.drop();
                }
                assertThat(soft.get(i)).isEqualTo(copy.get(i));
                assertThat(soft.get(i).blocks()).isEqualTo(copy.get(i).blocks());
            }
            soft.drop();
            assertThat(soft.toArray()).containsExactlyElementsOf(copy);
            soft.drop();
            assertThat(soft.toArray(new FileEntry[0])).containsExactlyElementsOf(copy);
            assertThat(soft).hasSize(copy.size());
            // the empty pages lists are empty lists, not null (null would mean "whole")
            assertThat(soft.stream().filter(FileEntry::isPages).allMatch(f -> f.blocks() != null)).isTrue();
        }
    }

    /** The list through the SoftFiles must not be changeable: a change is lost when the JVM drops it, and its size is fixed. */
    @Test
    void theListCannotBeChangedThroughItsIterator() {
        Repository repo = SoftFilesTest.repository(dir);
        writeMixed(repo);
        Manifest m = repo.catalogue().backups().get(1);
        SoftFiles soft = (SoftFiles) m.files();
        int size = soft.size();
        try {
            soft.removeIf(f -> f.isWhole());
        } catch (UnsupportedOperationException expected) {
            // fine: refused
        }
        assertThat(soft.size()).isEqualTo(size);
        assertThat(soft.stream().count()).as("the list as held").isEqualTo(size);
        try {
            soft.sort(java.util.Comparator.comparing(FileEntry::path).reversed());
        } catch (UnsupportedOperationException expected) {
            // fine: refused
        }
        List<FileEntry> afterSort = List.copyOf(soft);
        soft.drop();
        assertThat(List.copyOf(soft)).isEqualTo(afterSort);
    }

    @Test
    void manyThreads_droppingAndReading_seeTheSameList() throws Exception {
        Repository repo = SoftFilesTest.repository(dir);
        writeMixed(repo);
        List<Manifest> all = repo.catalogue().backups();
        List<List<FileEntry>> copies = all.stream().map(m -> List.copyOf(m.files())).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                done.add(pool.submit(() -> {
                    java.util.Random r = new java.util.Random(seed);
                    for (int round = 0; round < 200; round++) {
                        int b = r.nextInt(all.size());
                        SoftFiles soft = (SoftFiles) all.get(b).files();
                        if (r.nextInt(3) == 0) {
                            soft.drop();
                        }
                        int i = r.nextInt(soft.size());
                        assertThat(soft.get(i)).isEqualTo(copies.get(b).get(i));
                        if (r.nextInt(10) == 0) {
                            assertThat((List<FileEntry>) soft).isEqualTo(copies.get(b));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aManifestRemovedOrRewrittenIdentically_whileHeld() {
        Repository repo = SoftFilesTest.repository(dir);
        List<String> ids = writeMixed(repo);
        List<Manifest> all = repo.catalogue().backups();
        // rewritten with the same bytes (same content): still reads
        repo.writeManifest(repo.manifest(ids.get(1)));
        SoftFiles same = (SoftFiles) all.get(1).files();
        List<FileEntry> copy = List.copyOf(same);
        same.drop();
        assertThat((List<FileEntry>) same).isEqualTo(copy);
        // removed: a clear error, never an empty list
        repo.removeBackup(ids.get(2));
        SoftFiles gone = (SoftFiles) all.get(2).files();
        gone.drop();
        assertThatThrownBy(() -> gone.get(0)).isInstanceOf(PgstrataException.class)
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(ErrorCode.NOT_FOUND));
        // after close (a file repository's close does nothing): the list still reads
        repo.close();
        same.drop();
        assertThat((List<FileEntry>) same).isEqualTo(copy);
    }
}
