package org.pgstrata.backup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Page;
import org.pgstrata.storage.Storage;

/**
 * What the next incremental would store, found without taking it: the data directory is read by
 * the very code an incremental copies it with (the block comparison of {@link Change}, the same
 * objects, bundles and compression levels), but every object goes into a store that counts its
 * bytes and keeps none. Nothing is written to the repository or the data directory, and no
 * backup is started on the server: a page torn by a concurrent write is read as it is, which can
 * only move the estimate.
 */
public final class IncrementalDryRun {
    /** Stands in for a backup id in the object references the copier makes; never written anywhere. */
    private static final String DRY_RUN_ID = "advise-dry-run";

    /**
     * The measured change.
     *
     * @param files               files in the data directory that a backup copies
     * @param changedFiles        files that are new, changed or truncated since the reference
     * @param newFiles            files the reference does not hold
     * @param pagesAsDeltas       pages stored as page deltas of relation files
     * @param dataBytes           bytes of the files a backup copies
     * @param storedContentBytes  uncompressed bytes the incremental's objects would hold
     * @param storedBytes         what those objects would take in the repository
     * @param changedFilesBytes   the whole size of the files that have anything stored
     */
    /** @param blockMapBytes the block map the incremental stores beside its objects: 8 bytes per 8 KiB block of every file */
    public record Result(String referenceId, int files, int changedFiles, int newFiles, long pagesAsDeltas, long dataBytes,
                         long storedContentBytes, long storedBytes, long changedFilesBytes, long blockMapBytes) {
    }

    private final Clock clock;
    private final Progress progress;

    public IncrementalDryRun(Clock clock, Progress progress) {
        this.clock = clock;
        this.progress = progress;
    }

    /**
     * The backup an incremental of the cluster in {@code pgdata}, on {@code timeline}, taken now
     * would build on: the newest in its own past ({@link Reference#choose(List, BackupType,
     * org.pgstrata.postgres.TimelineHistory)}), or null when there is no full.
     */
    public static Manifest reference(List<Manifest> backupsOldestFirst, Path pgdata, int timeline) {
        return Reference.choose(backupsOldestFirst, BackupType.INCR, ClusterHistory.read(pgdata, timeline));
    }

    /**
     * Measures an incremental on {@code base} of the cluster in {@code pgdata}.
     *
     * @param now the server's WAL position now; it stands in for the start LSN (for the checks of
     *            {@link Reference#check}: the reference must end before it)
     * @throws org.pgstrata.api.PgstrataException (REFERENCE_MISMATCH) when an incremental could not build on {@code base}
     */
    public Result measure(ObjectStore repository, Manifest base, Path pgdata, String systemIdentifier, int timeline, Lsn now,
                          Compression compression, int jobs) {
        Reference reference = Reference.check(repository, base, systemIdentifier, ClusterHistory.read(pgdata, timeline), now,
                "the server's WAL position now", BackupType.INCR.label());
        try {
            DataDirectoryScan.Result scan = DataDirectoryScan.scan(pgdata.toAbsolutePath().normalize());
            progress.step("reading " + scan.files().size() + " files (" + org.pgstrata.api.Sizes.human(scan.totalBytes()) + ") of " + pgdata
                    + " block by block against " + base.id() + "; compressing what an incremental would store, writing nothing");
            ObjectStore counting = new ObjectStore(new CountingStorage());
            List<FileEntry> entries = new PhysicalBackup(clock, progress)
                    .copyForEstimate(counting, DRY_RUN_ID, compression, now, scan, reference, jobs);
            return summarize(base, entries);
        } catch (IOException e) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.IO, "reading " + pgdata + " failed: " + e.getMessage(),
                    "check that pgstrata can read the whole data directory");
        }
    }

    private static Result summarize(Manifest base, List<FileEntry> entries) {
        Set<String> held = new HashSet<>();
        base.files().forEach(f -> held.add(f.path()));
        int changed = 0;
        int added = 0;
        long pages = 0;
        long data = 0;
        long content = 0;
        long stored = 0;
        long changedFilesBytes = 0;
        long blocks = 0;
        for (FileEntry f : entries) {
            data += f.size();
            blocks += org.pgstrata.manifest.BlockMap.blocks(f.size());
            if (!held.contains(f.path())) {
                added++;
            }
            if (f.isUnchanged()) {
                continue;
            }
            changed++;
            ObjectRef own = f.ownObject(DRY_RUN_ID);
            if (own == null) {
                continue; // empty, or only truncated
            }
            stored += own.storedBytes();
            changedFilesBytes += f.size();
            if (f.isPages()) {
                pages += f.blocks().size();
                content += (long) f.blocks().size() * Page.SIZE;
            } else {
                content += f.size();
            }
        }
        return new Result(base.id(), entries.size(), changed, added, pages, data, content, stored, changedFilesBytes, blocks * Long.BYTES);
    }

    /** Takes objects and keeps only their size; anything else is a bug, since a dry run reads nothing back. */
    private static final class CountingStorage implements Storage {
        @Override
        public ObjectWriter create(String key) {
            return new ObjectWriter() {
                private long count;
                private final OutputStream stream = new OutputStream() {
                    @Override
                    public void write(int b) {
                        count++;
                    }

                    @Override
                    public void write(byte[] b, int off, int len) {
                        count += len;
                    }
                };

                @Override
                public OutputStream stream() {
                    return stream;
                }

                @Override
                public long commit() {
                    return count;
                }

                @Override
                public boolean commitIfAbsent() {
                    return true;
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public InputStream get(String key) {
            throw unsupported();
        }

        @Override
        public InputStream get(String key, long offset, long length) {
            throw unsupported();
        }

        @Override
        public long size(String key) {
            throw unsupported();
        }

        @Override
        public boolean exists(String key) {
            throw unsupported();
        }

        @Override
        public List<String> list(String prefix) {
            throw unsupported();
        }

        @Override
        public void delete(String key) {
            throw unsupported();
        }

        @Override
        public void deletePrefix(String prefix) {
            throw unsupported();
        }

        @Override
        public RepositoryLock lock(String holder) {
            throw unsupported();
        }

        @Override
        public String describe() {
            return "(a dry run: counted, not stored)";
        }

        @Override
        public void close() {
        }

        private static UnsupportedOperationException unsupported() {
            return new UnsupportedOperationException("a dry run only counts what it would write");
        }
    }
}
