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
        List<Manifest> manifests = backupId == null ? repo.backups() : List.of(repo.manifest(backupId));
        List<String> problems = new ArrayList<>();
        long objects = 0;
        long bytes = 0;
        for (Manifest m : manifests) {
            progress.step("verifying backup " + m.id() + " (" + m.files().size() + " files, " + m.wal().size() + " WAL files)");
            long total = m.files().stream().mapToLong(FileEntry::size).sum();
            long done = 0;
            for (FileEntry f : m.files()) {
                if (f.object() != null) {
                    objects++;
                    bytes += f.object().storedBytes();
                    check(repo, m.id(), f.path(), f.object(), f.size(), f.checksum(), problems);
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
        List<String> incomplete = backupId == null ? repo.incompleteBackups() : List.of();
        return new VerifyResult(manifests.size(), objects, bytes, problems, incomplete);
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
