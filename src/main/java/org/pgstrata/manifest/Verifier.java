package org.pgstrata.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;

/**
 * Rereads every object of one backup or all of them: stored size and checksum, then the
 * decompressed content's size and checksum against the manifest. Reports every problem rather
 * than stopping at the first, and names backup directories that have no manifest.
 */
public final class Verifier {
    private final Progress progress;

    public Verifier(Progress progress) {
        this.progress = progress;
    }

    public VerifyResult verify(Repository repo, String backupId) {
        repo.requireInfo();
        boolean logicalOnly = backupId != null && repo.logicalIds().contains(backupId);
        List<Manifest> manifests = backupId == null ? repo.backups() : logicalOnly ? List.of() : List.of(repo.manifest(backupId));
        List<String> problems = new ArrayList<>();
        java.util.Set<String> checked = new java.util.HashSet<>();
        if (backupId == null) {
            repo.damagedBackups().forEach((id, why) -> problems.add("backup " + id + ": " + why));
        }
        long objects = 0;
        long bytes = 0;
        for (Manifest m : manifests) {
            progress.step("verifying backup " + m.id() + " (" + m.files().size() + " files, " + m.wal().size() + " WAL files)");
            long total = m.files().stream().mapToLong(FileEntry::size).sum();
            long done = 0;
            try {
                Chain.load(repo, m);
            } catch (org.pgstrata.api.PgstrataException e) {
                problems.add("backup " + m.id() + " cannot be restored: " + e.getMessage());
            }
            for (FileEntry f : m.files()) {
                // Objects can be shared (unchanged files, the newest full of a reverse-delta repository): each is read once.
                ObjectRef ref = f.object();
                if (ref != null && checked.add(ref.key() + "@" + ref.start())) {
                    objects++;
                    bytes += ref.storedBytes();
                    if (f.isPages()) {
                        check(repo, m.id(), f.path() + " (" + f.blocks().size() + " pages)", ref, (long) f.blocks().size() * org.pgstrata.postgres.Page.SIZE,
                                f.pagesChecksum(), problems);
                    } else {
                        check(repo, m.id(), f.path(), ref, f.size(), f.checksum(), problems);
                    }
                }
                done += f.size();
                progress.advance(done, total);
            }
            for (WalEntry w : m.wal()) {
                objects++;
                bytes += w.object().storedBytes();
                check(repo, m.id(), "pg_wal/" + w.name(), w.object(), w.size(), w.checksum(), problems);
            }
        }
        List<LogicalManifest> logical = backupId == null ? repo.logicalBackups() : logicalOnly ? List.of(repo.logicalManifest(backupId)) : List.of();
        if (backupId == null) {
            repo.damagedLogical().forEach((id, why) -> problems.add("logical backup " + id + ": " + why));
        }
        for (LogicalManifest m : logical) {
            progress.step("verifying logical backup " + m.id() + " (" + m.objects().size() + " objects)");
            if (m.differential()) {
                try {
                    if (!repo.storage().exists(Repository.logicalManifestKey(m.reference()))) {
                        problems.add("logical backup " + m.id() + " cannot be restored: its logical full " + m.reference() + " is missing");
                    } else {
                        repo.logicalManifest(m.reference());
                    }
                } catch (org.pgstrata.api.PgstrataException e) {
                    problems.add("logical backup " + m.id() + " cannot be restored: " + e.getMessage());
                } catch (IOException e) {
                    problems.add("logical backup " + m.id() + ": cannot read its full's manifest: " + e.getMessage());
                }
            }
            for (LogicalManifest.StoredFile f : m.objects()) {
                objects++;
                bytes += f.object().storedBytes();
                check(repo, m.id(), f.name(), f.object(), f.size(), f.checksum(), problems);
            }
        }
        List<String> incomplete = backupId == null ? repo.incompleteBackups() : List.of();
        List<String> unfinished = List.of();
        if (backupId == null) {
            try {
                unfinished = repo.storage().unfinishedWrites("");
            } catch (IOException e) {
                problems.add("cannot list unfinished writes: " + e.getMessage());
            }
        }
        long[] archived = checkArchive(repo, manifests, problems);
        return new VerifyResult(manifests.size() + logical.size(), objects + archived[0], bytes + archived[1], problems, incomplete, unfinished);
    }

    /**
     * Rereads every archived WAL file (checksum; every copy of a name that has several, which
     * must agree), checks that each segment belongs to the repository's cluster, and that the
     * archive is continuous from each backup's start (or stop, when the backup holds its own WAL)
     * to the newest segment on the newest timeline that descends from it. Also checks that the
     * store refuses a second write of one key, which keeps one content per WAL name. Returns
     * {files, stored bytes}.
     */
    private long[] checkArchive(Repository repo, List<Manifest> manifests, List<String> problems) {
        try {
            repo.storage().checkConditionalWrites();
        } catch (IOException e) {
            problems.add("the store cannot be shown to refuse a second write of one key, which archiving relies on: " + e.getMessage());
        }
        WalArchive archive = new WalArchive(repo.storage());
        long files = 0;
        long bytes = 0;
        java.util.Set<String> damagedArchive = new java.util.HashSet<>();
        try {
            List<WalArchive.Entry> entries = archive.entries();
            if (entries.isEmpty()) {
                return new long[] {0, 0};
            }
            progress.step("verifying " + entries.size() + " archived WAL files");
            String system = repo.requireInfo().systemIdentifier();
            for (WalArchive.Entry e : entries) {
                try {
                    byte[] content = archive.read(e);
                    bytes += archive.storedBytes(e);
                    if (org.pgstrata.postgres.WalFileName.isSegment(e.name()) || e.name().endsWith(".partial")) {
                        org.pgstrata.postgres.WalSegmentHeader h = org.pgstrata.postgres.WalSegmentHeader.parse(content);
                        if (h == null) {
                            problems.add("archived WAL " + e.name() + ": object " + e.key() + " does not start with a WAL segment header");
                        } else if (!h.systemIdentifierText().equals(system)) {
                            problems.add("archived WAL " + e.name() + ": object " + e.key() + " belongs to the cluster with system identifier "
                                    + h.systemIdentifierText() + ", but the repository serves " + system + "; restore refuses it");
                        }
                    }
                } catch (CorruptObjectException ex) {
                    problems.add("archived WAL " + e.name() + ": " + ex.getMessage());
                    damagedArchive.add(ex.getMessage()); // the timeline check below may read it again
                }
                files++;
            }
            ArchiveTimelines tl = new ArchiveTimelines(archive);
            java.util.Set<String> reported = new java.util.HashSet<>();
            for (Manifest m : manifests) {
                org.pgstrata.postgres.Lsn stop = org.pgstrata.postgres.Lsn.parse(m.stopLsn());
                org.pgstrata.postgres.TimelineHistory best = null;
                for (int t : tl.timelines()) {
                    org.pgstrata.postgres.TimelineHistory p = tl.path(t);
                    if (p.descendsFrom(m.timeline()) && p.timelineAt(stop) == m.timeline() && (best == null || t > best.timeline())) {
                        best = p;
                    }
                }
                if (best == null) {
                    continue;
                }
                long from = m.walInArchive() ? org.pgstrata.postgres.Lsn.parse(m.startLsn()).segmentNumber(tl.segmentSize())
                        : new org.pgstrata.postgres.Lsn(stop.value() - 1).segmentNumber(tl.segmentSize()) + 1;
                long last = tl.lastSegment(best);
                List<Long> gaps = tl.gaps(best, from, last);
                int i = 0;
                while (i < gaps.size()) {
                    int j = i;
                    while (j + 1 < gaps.size() && gaps.get(j + 1) == gaps.get(j) + 1) {
                        j++;
                    }
                    String first = tl.segmentName(best, gaps.get(i));
                    String range = i == j ? "WAL segment " + first + " is" : "WAL segments " + first + " .. " + tl.segmentName(best, gaps.get(j)) + " are";
                    String line = "archive gap on timeline " + best.timeline() + ": " + range + " missing; recovery from backup " + m.id()
                            + " cannot pass it";
                    if (reported.add(range)) {
                        problems.add(line);
                    }
                    i = j + 1;
                }
            }
        } catch (IOException e) {
            if (!(e instanceof CorruptObjectException) || !damagedArchive.contains(e.getMessage())) {
                problems.add("cannot read the WAL archive: " + e.getMessage());
            }
        }
        return new long[] {files, bytes};
    }

    private static void check(Repository repo, String backup, String path, ObjectRef ref, long size, String checksum, List<String> problems) {
        Checksum digest = new Checksum();
        long n = 0;
        try (InputStream in = repo.objects().open(ref)) {
            byte[] buf = new byte[1 << 17];
            int r;
            while ((r = in.read(buf)) >= 0) {
                digest.update(buf, 0, r);
                n += r;
            }
        } catch (CorruptObjectException e) {
            problems.add("backup " + backup + ", file " + path + ": " + e.getMessage());
            return;
        } catch (IOException e) {
            problems.add("backup " + backup + ", file " + path + ": cannot read object " + ref.key() + ": " + e.getMessage());
            return;
        }
        if (n != size) {
            problems.add("backup " + backup + ", file " + path + ": object " + ref.key() + " holds " + n + " bytes, the manifest says " + size);
            return;
        }
        String actual = digest.hex();
        if (!actual.equals(checksum)) {
            problems.add("backup " + backup + ", file " + path + ": content checksum " + actual + " differs from the manifest's " + checksum);
        }
    }
}
