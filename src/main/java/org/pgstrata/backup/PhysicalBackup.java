package org.pgstrata.backup;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.ChangeSource;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Parallel;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Sizes;
import org.pgstrata.api.Progress;
import org.pgstrata.api.TestHooks;
import org.pgstrata.db.BackupSession;
import org.pgstrata.db.WalSummaries;
import org.pgstrata.manifest.BlockList;
import org.pgstrata.manifest.BlockMap;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.DirectoryEntry;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.Lineage;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Page;
import org.pgstrata.postgres.PageChecksum;
import org.pgstrata.postgres.RelationFile;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.storage.Storage;

/**
 * A physical backup of a running cluster: start the backup on one dedicated connection, copy the
 * data directory (compressed, checksummed, page checksums verified), stop the backup, copy the
 * WAL from start to stop into the backup, and write the manifest last.
 */
public final class PhysicalBackup {
    private static final int CHUNK = 128 * Page.SIZE;
    /** Files smaller than this share bundle objects instead of having one each. */
    static final long BUNDLE_FILE_LIMIT = 256 * 1024;
    /**
     * The longest path named after itself: with the longest compression suffix (".zst") it is one name component, which an
     * encrypted repository takes up to {@link org.pgstrata.storage.crypt.RepositoryCipher#MAX_COMPONENT} bytes of (the
     * pattern below is ASCII). It was 200, and every backup into an encrypted repository of a data directory holding a file
     * of 256 KiB or more with a path of 141 to 200 characters failed: "too long for an encrypted repository".
     */
    static final int PLAIN_PATH_MAX = org.pgstrata.storage.crypt.RepositoryCipher.MAX_COMPONENT - ".zst".length();
    /** Paths whose object name is the path itself with '+' for '/': no '+' of their own, nothing a key refuses, short. */
    private static final java.util.regex.Pattern PLAIN_PATH = java.util.regex.Pattern.compile("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*");

    /**
     * The name of the object that stores the file at {@code path} (relative to the data directory) in its backup's
     * directory: one name per path. An ordinary path reads as itself ('/' as '+'); any other (a '+' of its own, which
     * would share the name of another path, a backslash, which a key refuses, a path longer than a file name may be,
     * any other character) is named by the SHA-256 of the path, after a '~' that no ordinary path holds.
     */
    static String objectName(String path) {
        if (path.length() <= PLAIN_PATH_MAX && PLAIN_PATH.matcher(path).matches()) {
            return path.replace('/', '+');
        }
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(path.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "~" + java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java has SHA-256
        }
    }

    /** A backup of {@code type} in a sentence, with its article: "an incremental", "a differential", "a reverse-delta backup". */
    static String kind(BackupType type) {
        return switch (type) {
            case FULL -> "a full backup";
            case INCR -> "an incremental";
            case DIFF -> "a differential";
            case REVERSE -> "a reverse-delta backup";
        };
    }

    /** How often a copy checks that the backup's session is still there. */
    static final long SESSION_CHECK_NANOS = 5_000_000_000L;
    /** How many small relation files {@code sampleUnchanged} reads a block or two of. */
    static final int SMALL_SAMPLES = 64;
    /** A bundle is closed once it holds this many stored bytes. */
    static final long BUNDLE_TARGET = 32L * 1024 * 1024;
    /** Files from this size up are compressed by several zstd threads. */
    static final long ZSTD_WORKERS_FROM = 64L * 1024 * 1024;
    private static final DateTimeFormatter ID_FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    private static final String VERSION = PhysicalBackup.class.getPackage().getImplementationVersion() == null
            ? "dev" : PhysicalBackup.class.getPackage().getImplementationVersion();

    private final Clock clock;
    private final Progress progress;

    public PhysicalBackup(Clock clock, Progress progress) {
        this.clock = clock;
        this.progress = progress;
    }

    public BackupResult run(BackupRequest req) {
        long t0 = System.nanoTime();
        warmUpInBackground();
        Path pgdata = req.pgdata().toAbsolutePath().normalize();
        Repository.refuseInsideDataDirectory(req.repo(), pgdata);
        String lineage;
        try {
            lineage = Lineage.read(pgdata);
        } catch (IOException e) {
            // Not a reason to fail the backup: a lineage no backup has, so the WAL summaries are not trusted over any of them.
            lineage = Lineage.UNREADABLE;
            progress.warn("cannot read " + pgdata.resolve(Lineage.FILE) + " (" + e.getMessage() + "): an incremental compares every block "
                    + "instead of trusting the WAL summaries; make the file readable by the user that runs the backup");
        }
        // The block maps (the reference's, the one being built): their temporary files closed however the backup ends
        java.util.Deque<java.io.Closeable> maps = new java.util.ArrayDeque<>();
        // The server is connected to and checked on a thread of its own while the repository opens, its key (if encrypted)
        // is unwrapped, the lock is taken and the catalogue read (see lock). A wrong passphrase still stops the backup
        // before the lock is taken or the backup started.
        Parallel.Opening<BackupSession> connecting = Parallel.opening("pgstrata-connect",
                () -> BackupSession.open(req.connection(), pgdata, progress));
        try (connecting;
             Repository repo = Repository.openUnlocking(req.repo()).prepared();
             Locked locked = lock(repo, req.type(), connecting);
             BackupSession session = connecting.get()) {

            // Check the repository serves this cluster (or make it serve it)
            int major = session.versionNum() / 10000;
            if (repo.info().isEmpty()) {
                repo.initialize(session.systemIdentifier(), major, clock);
                progress.step("created repository " + repo.describe() + " for cluster " + session.systemIdentifier());
                repo.createdClearDespitePassphrase().ifPresent(progress::warn);
            } else {
                repo.checkCluster(session.systemIdentifier(), major);
            }

            // Remove what killed or failed backups left behind; we hold the lock, so nobody is writing them. Half-written files
            // first: a backup killed while writing its first one leaves a directory that is empty without it.
            repo.removeTemporary();
            for (String stale : repo.incompleteBackups()) {
                progress.warn("removing incomplete backup " + stale + " left by an earlier failed run");
                repo.removeIncomplete(stale);
            }

            // An incremental or differential needs a full to build on, and a server with data checksums
            BackupType type = req.type();
            Manifest base = null;
            List<Manifest> candidates = List.of();
            int chosenOnTimeline = 0;
            if (type != BackupType.FULL) {
                Repository.Catalogue<Manifest> catalogue = locked.catalogue() != null ? locked.catalogue() : repo.catalogue();
                catalogue.requireNoDamage("choose the backup " + kind(type) + " builds on",
                        "take a full backup (--type full), or delete the damaged backup ('pgstrata list' names it)");
                candidates = catalogue.backups();
                chosenOnTimeline = session.currentTimeline();
                base = Reference.choose(candidates, type == BackupType.REVERSE ? BackupType.DIFF : type,
                        ClusterHistory.read(pgdata, chosenOnTimeline));
                if (base == null) {
                    progress.step("no full backup in " + repo.describe() + " to build on: taking a full backup instead of " + kind(type));
                    type = BackupType.FULL;
                } else if (!session.dataChecksums()) {
                    throw new PgstrataException(ErrorCode.SERVER_SETTING, kind(type) + " needs data checksums, which are off on "
                            + req.connection().describe() + ": without them a page read while being written cannot be detected, and "
                            + "hint-bit changes do not move a page's LSN",
                            "enable them with pg_checksums --enable while the server is stopped, or take full backups (--type full)");
                }
            }

            if (type == BackupType.REVERSE && base != null) {
                // What an interrupted conversion left (old pages not yet read, old objects not yet removed) is read by nobody.
                int removed = repo.collectAllGarbage();
                if (removed > 0) {
                    progress.warn("removed " + removed + " objects that an interrupted earlier run left and no backup reads");
                }
            }
            // The reference's block map is read while the backup starts on the server
            Manifest building = base;
            Parallel.Opening<BlockMap> baseMap = base == null ? null
                    : Parallel.opening("pgstrata-block-map", () -> BlockMap.read(repo.objects(), building));
            if (baseMap != null) {
                maps.push(baseMap::close);
            }
            String id = newId(repo, type);
            Instant startTime = Instant.now(clock);

            // Start the backup on the server
            progress.step("starting " + type.label() + " backup " + id + (base == null ? "" : " on " + base.id())
                    + (session.standby() ? " from a standby (restartpoint" : " (checkpoint")
                    + (req.spreadCheckpoint() ? ", spread: it comes at the server's pace, up to checkpoint_timeout x "
                            + "checkpoint_completion_target; --checkpoint fast starts at once)" : ")"));
            Lsn startLsn = session.start("pgstrata " + id, req.spreadCheckpoint(), progress);
            Lsn replayedAtStart = session.standby() ? session.currentLsn() : startLsn;
            if (session.standby()) {
                requireStartOnReplayedTimeline(session.timeline(), session.minRecoveryTimeline(), startLsn);
            }
            if (base != null && session.timeline() != chosenOnTimeline) {
                // The timeline known before the start (a standby's minimum recovery point's or last restartpoint's) can lag behind
                // the checkpoint it last replayed by a timeline switch; the restartpoint the start makes moves to that checkpoint's:
                // choose again on the backup's own timeline (a later one: an earlier one was refused just above).
                // CascadedStandbyAcrossPromotionTest reaches it.
                Manifest again = Reference.choose(candidates, type == BackupType.REVERSE ? BackupType.DIFF : type,
                        ClusterHistory.read(pgdata, session.timeline()));
                if (again != null && !again.id().equals(base.id())) {
                    progress.step("the backup starts on timeline " + session.timeline() + ", not " + chosenOnTimeline + ": building on "
                            + again.id() + " instead of " + base.id());
                    base = again;
                    Manifest rebuilding = base;
                    baseMap = Parallel.opening("pgstrata-block-map", () -> BlockMap.read(repo.objects(), rebuilding));
                    maps.push(baseMap::close);
                }
            }
            if (base != null && session.standby()) {
                requireRestartpointAfter(base, startLsn, replayedAtStart, type, session.timeline());
            }
            Parallel.Opening<BlockMap> mapOfBase = baseMap;
            Reference reference = base == null ? null
                    : Reference.check(mapOfBase::get, base, session.systemIdentifier(), ClusterHistory.read(pgdata, session.timeline()),
                            startLsn, "this backup's start", type.label());
            if (reference != null) {
                maps.push(reference::close);
            }
            if (reference != null && !reference.hasBlockMap()) {
                progress.warn("backup " + base.id() + " was taken by an earlier pgstrata and has no block map: its relation files cannot be "
                        + "compared block by block, so this backup stores them whole");
            } else if (reference != null && Boolean.FALSE.equals(base.dataChecksums()) && session.dataChecksums()) {
                // pg_checksums --enable rewrites only the pages whose checksum is not right yet: all of them on a cluster that never
                // had checksums, those written while they were off on one that had
                progress.warn("data checksums were turned on since backup " + base.id() + ": the pages pg_checksums rewrote to set their "
                        + "checksums (every page, unless the cluster had checksums before) are stored again");
            }

            // The data directory is listed (after the start: every file it holds then is in the backup) while the server is
            // asked for the WAL summaries
            Parallel.Ahead<DataDirectoryScan.Result> listing = Parallel.ahead("pgstrata-scan", () -> DataDirectoryScan.scan(pgdata));

            // How the changed blocks are found: the WAL summaries when they can be trusted, or a scan of every block
            WalSummaries.Changes summaries = null;
            String notSummaries = null;
            if (reference != null && type != BackupType.REVERSE) {
                notSummaries = summaryRefusal(req.changeSource(), reference, session, lineage);
                if (notSummaries == null) {
                    progress.step("reading the WAL summaries " + base.startLsn() + " .. " + startLsn);
                    WalSummaries.Outcome o = session.walSummaries(session.timeline(), Lsn.parse(base.startLsn()), startLsn, SUMMARIZER_WAIT);
                    if (o instanceof WalSummaries.Usable u) {
                        summaries = u.changes();
                    } else {
                        notSummaries = ((WalSummaries.Unusable) o).reason();
                    }
                }
            }

            // Copy the data directory
            DataDirectoryScan.Result scan = listing.get();
            for (String link : scan.skippedLinks()) {
                progress.warn("skipping " + pgdata.resolve(link) + ": a link to a directory outside what PostgreSQL backs up (only pg_wal and "
                        + "pg_tblspc's links are followed); its target is not in the backup");
            }
            // and the configuration files the server reads from elsewhere (Debian: /etc/postgresql/MAJOR/NAME), stored as files
            ExternalConfigScan.Found external = ExternalConfigScan.find(session, pgdata, progress);
            List<DataDirectoryScan.Item> toCopy = new java.util.ArrayList<>(scan.files());
            toCopy.addAll(external.items());
            long totalBytes = scan.totalBytes() + external.items().stream().mapToLong(DataDirectoryScan.Item::size).sum();
            progress.step("copying " + toCopy.size() + " files (" + Sizes.human(totalBytes) + ") from " + pgdata);
            ObjectStore writing = repo.objects().atLevel(req.compressLevel()); // --compress-level, for every object this backup writes
            Copier copier = new Copier(writing, id, req.compression(), startLsn, session.dataChecksums(), totalBytes,
                    req.pauseAfterFiles(), reference, type == BackupType.REVERSE);
            maps.push(copier.blockHashes::close);
            copier.sessionAlive = session::alive;
            if (summaries != null) {
                // Trust, but check: blocks the summaries call unchanged must hash as the reference's did.
                String mismatch = copier.sampleUnchanged(summaries, scan.files());
                if (mismatch != null) {
                    summaries = null;
                    notSummaries = mismatch;
                }
            }
            if (summaries != null) {
                copier.summaries = summaries;
                progress.step("reading only the blocks the WAL summaries name: " + summaries.blocks() + " in " + summaries.forks()
                        + " relation forks changed since " + base.id());
            } else if (reference != null && req.changeSource() == ChangeSource.WAL_SUMMARY && notSummaries != null) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "--change-source wal-summary: the WAL summaries cannot be used: "
                        + notSummaries, "fix that, or let the backup scan every block (--change-source auto or scan)");
            } else if (reference != null && req.changeSource() == ChangeSource.AUTO && notSummaries != null) {
                progress.step("comparing every block with " + base.id() + "'s block map: " + notSummaries);
            }
            String changeSource = reference == null || type == BackupType.REVERSE ? null
                    : summaries != null ? ChangeSource.WAL_SUMMARY.label() : ChangeSource.SCAN.label();
            List<FileEntry> files = copier.copyAll(toCopy, req.jobs());
            String torn = tornCopySource(pgdata, scan, files);
            if (torn != null) {
                throw new PgstrataException(ErrorCode.CLUSTER_CHANGED, "backup " + id + " was not kept: " + torn,
                        "run the backup again (a rerun reads the database where it is now); keep ALTER DATABASE ... SET TABLESPACE "
                                + "and DROP DATABASE of a template away from backups");
            }

            // Stop the backup, then fetch the WAL that makes the copy consistent
            BackupSession.StopResult stop = session.stop();
            List<WalEntry> wal;
            String walSource;
            WalArchive archive = new WalArchive(repo.storage());
            boolean fromPgWal;
            // Recovery reaches the backup's point only by reading the record after it (recovery_target = 'immediate' stops
            // there): a primary's pg_backup_stop writes one itself, a standby's stop is simply the end of a replayed record.
            Lsn walEnd = stop.stopLsn();
            if (session.standby()) {
                progress.step("standby backup stopped at " + stop.stopLsn() + "; waiting for the standby to receive a record after it "
                        + "(the primary writes it)");
                walEnd = session.awaitWalPast(stop.stopLsn(), session.walSegmentSize(), req.archiveTimeoutSeconds());
                if (stop.stopLsn().isBefore(replayedAtStart)) {
                    progress.warn("this backup's point is " + stop.stopLsn() + ", the standby's minimum recovery point (up to where its "
                            + "files are known to be written), behind the " + replayedAtStart + " it had replayed when the backup started: "
                            + "restored alone it ends there; a CHECKPOINT on the primary just before a standby backup moves the point up");
                }
                fromPgWal = standbyHoldsWal(pgdata, startLsn, walEnd, stop.timeline(), session.walSegmentSize());
            } else {
                fromPgWal = archive.isEmpty() && !session.archivesInto(repo.describe());
            }
            if (fromPgWal) {
                progress.step("backup stopped at " + stop.stopLsn() + "; copying WAL " + startLsn + " .. " + stop.stopLsn()
                        + (session.standby() ? " from the standby's pg_wal" : ""));
                wal = copyWal(writing, id, req.compression(), pgdata, startLsn, walEnd, stop, session.walSegmentSize());
                walSource = Manifest.WAL_IN_BACKUP;
            } else {
                // Invariant 2: with an archive, the backup is complete once its WAL is archived.
                progress.step("backup stopped at " + stop.stopLsn() + "; waiting for WAL " + startLsn + " .. " + stop.stopLsn()
                        + " to reach the archive");
                waitForArchive(archive, startLsn, walEnd, stop, session.walSegmentSize(), req.archiveTimeoutSeconds(),
                        session.standby() ? name -> "" : session::archiverFailure, session.standby()
                        ? "the standby no longer holds it in pg_wal and the primary has not archived it: a primary that writes little "
                                + "fills a segment slowly; run SELECT pg_switch_wal() on the primary (or set archive_timeout there), "
                                + "then run the backup again"
                        : "check archive_command (pgstrata wal setup prints it) and the server log, then run the backup again");
                wal = List.of();
                walSource = Manifest.WAL_IN_ARCHIVE;
            }

            // Write the manifest last: from here on the backup exists
            List<DirectoryEntry> dirs = scan.directories().stream().map(d -> new DirectoryEntry(d.path(), d.mode())).toList();
            long dataBytes = files.stream().mapToLong(FileEntry::size).sum();
            TestHooks.haltAt("full-objects");
            // The block map is the last object before the manifest: a directory that holds it without a manifest is a backup
            // that ran to its end and lost its manifest, not a leftover (Repository.lostManifests).
            repo.fenceBlockMap(id);
            ObjectRef blockMap = copier.blockHashes.write(repo.objects(), id, files);
            long repoBytes = files.stream().map(f -> f.ownObject(id)).filter(o -> o != null).mapToLong(ObjectRef::storedBytes).sum()
                    + wal.stream().mapToLong(w -> w.object().storedBytes()).sum() + blockMap.storedBytes();
            boolean reverse = type == BackupType.REVERSE && reference != null;
            // A reverse-delta backup is a complete full; the old full becomes a reverse delta over it below.
            // Format 3 where files may carry block-form checksums (read in part, by the WAL summaries).
            Manifest m = new Manifest(summaries != null ? Manifest.FORMAT_SUMMARIES : Manifest.FORMAT_SCANNED, id, reverse || type == BackupType.REVERSE ? BackupType.FULL.label() : type.label(),
                    reverse ? null : reference == null ? null : reference.id(),
                    session.systemIdentifier(),
                    session.versionNum(), stop.timeline(), startLsn.toString(), stop.stopLsn().toString(), startTime.toString(),
                    Instant.now(clock).toString(), req.compression().label(), stop.backupLabel(), stop.tablespaceMap(), dirs, files, wal,
                    dataBytes, repoBytes, VERSION, walSource, session.dataChecksums(), blockMap,
                    external.entries().isEmpty() ? null : external.entries(), changeSource, lineage);
            repo.writeManifest(m); // a failed write withdraws the block map: the failed backup leaves an ordinary leftover
            if (reverse) {
                // Invariant 4: the new full is durable; only now does the old one become a reverse delta.
                TestHooks.haltAt("full-manifest");
                new ReverseDelta(repo, progress).convert(reference.manifest(), m, copier.changedForReverse, req.compression(), writing);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (reference != null && !reverse) {
                long stored = files.stream().filter(f -> !f.isUnchanged()).count();
                progress.step(stored + " of " + files.size() + " files changed since " + reference.id() + "; "
                        + copier.pagesStored.get() + " pages stored as page deltas");
            }
            progress.step("backup " + id + " complete: " + Sizes.human(dataBytes) + " of data in " + Sizes.human(repoBytes) + " of repository");
            return new BackupResult(id, m.type(), m.reference(), m.startLsn(), m.stopLsn(), files.size(), dataBytes, repoBytes, seconds, wal.size(),
                    external.entries().stream().filter(e -> e.stored() != null).map(e -> e.path()).toList(), changeSource,
                    changeSource == null || summaries != null ? null : notSummaries, copier.bytesRead.get());
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "backup failed: " + e.getMessage(),
                    "fix the cause and run the backup again; earlier backups are intact", e);
        } finally {
            for (java.io.Closeable m : maps) {
                try {
                    m.close();
                } catch (IOException e) {
                    // a temporary file already unlinked: closing it only frees its descriptor
                }
            }
        }
    }


    /**
     * The entries an incremental on {@code reference} would record, with its objects compressed
     * exactly as {@link #run} compresses them, but into {@code objects}, which for advise only
     * counts. Page checksums are not verified: without pg_backup_start a page being written may
     * read torn, and that only moves an estimate.
     */
    List<FileEntry> copyForEstimate(ObjectStore objects, String id, Compression compression, Lsn startLsn,
                                    DataDirectoryScan.Result scan, Reference reference, int jobs) throws IOException {
        return new Copier(objects, id, compression, startLsn, false, scan.totalBytes(), 0, reference, false).copyAll(scan.files(), jobs);
    }

    /** A database directory: base/OID or pg_tblspc/TABLESPACE/VERSION/OID. */
    private static final java.util.regex.Pattern DATABASE_DIR = java.util.regex.Pattern.compile("(base|pg_tblspc/\\d+/[^/]+)/(\\d+)");

    /**
     * Null unless a database directory went away while it was copied (some of its files vanished
     * before they were read, and the directory is gone) and the WAL may copy it elsewhere in
     * recovery: the same database now lives in another directory (ALTER DATABASE ... SET
     * TABLESPACE), or a database directory appeared that the scan did not see (CREATE DATABASE ...
     * STRATEGY file_copy from it, then DROP DATABASE). Replaying such a record copies the backup's
     * incomplete directory, and the restored database lacks the files that vanished.
     */
    static String tornCopySource(Path pgdata, DataDirectoryScan.Result scan, List<FileEntry> files) throws IOException {
        java.util.Set<String> copied = new java.util.HashSet<>();
        files.forEach(f -> copied.add(f.path()));
        java.util.Set<String> gone = new java.util.TreeSet<>();
        for (DataDirectoryScan.Item i : scan.files()) {
            int slash = i.path().lastIndexOf('/');
            if (slash > 0 && !copied.contains(i.path()) && DATABASE_DIR.matcher(i.path().substring(0, slash)).matches()
                    && !Files.isDirectory(pgdata.resolve(i.path().substring(0, slash)))) {
                gone.add(i.path().substring(0, slash));
            }
        }
        if (gone.isEmpty()) {
            return null;
        }
        java.util.Set<String> scanned = new java.util.HashSet<>();
        scan.directories().forEach(d -> scanned.add(d.path()));
        List<String> now = new ArrayList<>();
        for (Path parent : databaseParents(pgdata)) {
            try (java.util.stream.Stream<Path> list = Files.list(parent)) {
                list.filter(Files::isDirectory).forEach(d -> now.add(pgdata.relativize(d).toString()));
            } catch (java.nio.file.NoSuchFileException e) {
                // a tablespace dropped while we looked
            }
        }
        for (String dir : gone) {
            String oid = dir.substring(dir.lastIndexOf('/') + 1);
            for (String d : now) {
                if (!DATABASE_DIR.matcher(d).matches()) {
                    continue;
                }
                if (d.endsWith("/" + oid)) {
                    return "database directory " + dir + " moved to " + d + " while it was copied (ALTER DATABASE ... SET TABLESPACE), "
                            + "and recovery would rebuild the database from the incomplete copy";
                }
                if (!scanned.contains(d)) {
                    return "database directory " + dir + " was removed while it was copied, and database directory " + d
                            + " appeared meanwhile: if it was made from " + dir + " (CREATE DATABASE ... STRATEGY file_copy), "
                            + "recovery would rebuild it from the incomplete copy";
                }
            }
        }
        return null;
    }

    /** Where database directories live: base/ and each tablespace's version directories. */
    private static List<Path> databaseParents(Path pgdata) throws IOException {
        List<Path> parents = new ArrayList<>(List.of(pgdata.resolve("base")));
        try (java.util.stream.Stream<Path> spaces = Files.list(pgdata.resolve("pg_tblspc"))) {
            for (Path space : spaces.toList()) {
                try (java.util.stream.Stream<Path> versions = Files.list(space)) {
                    versions.filter(Files::isDirectory).forEach(parents::add);
                } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException e) {
                    // a tablespace dropped while we looked
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // no pg_tblspc: no tablespaces
        }
        return parents;
    }

    /** The repository locked for a backup, and its catalogue when one was read under the lock (an existing repository's). */
    private record Locked(Storage.RepositoryLock lock, Repository.Catalogue<Manifest> catalogue) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            lock.close();
        }
    }

    /**
     * Locks {@code repo} for a backup while the server is connected to: a repository that
     * exists at once, reading its catalogue too when an incremental needs it; a new one only once
     * the server checked out, so that nothing is written for a server that cannot be backed up.
     */
    private Locked lock(Repository repo, BackupType type, Parallel.Opening<BackupSession> connecting) throws IOException {
        boolean exists = repo.info().isPresent();
        if (!exists) {
            connecting.await();
        }
        Storage.RepositoryLock lock = repo.awaitKey().lock("backup", clock);
        try {
            return new Locked(lock, exists && type != BackupType.FULL ? repo.catalogue() : null);
        } catch (RuntimeException e) {
            try {
                lock.close();
            } catch (IOException | RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** How long a backup waits for the WAL summarizer to reach its start before it scans instead. */
    private static final java.time.Duration SUMMARIZER_WAIT = java.time.Duration.ofSeconds(60);

    /**
     * Null when the WAL summaries may decide what changed since {@code reference}; otherwise why
     * not. Summaries name what WAL changed; they are trusted only where that is everything that
     * changed: the reference has a block map (to take unchanged blocks' hashes from), both it and
     * the cluster have data checksums (so that hint bits are WAL-logged), and it lies on the
     * cluster's current timeline (system and history were checked with the reference), and it
     * comes from the same restore as the cluster ({@link Lineage}).
     */
    private static String summaryRefusal(ChangeSource asked, Reference reference, BackupSession session, String lineage) {
        Manifest ref = reference.manifest();
        if (asked == ChangeSource.SCAN) {
            return "asked for with --change-source scan";
        }
        String noneKept = WalSummaries.noneKept(session.versionNum());
        if (noneKept != null) {
            return noneKept; // the one place the version is asked: said before "reading the WAL summaries", which there are none of
        }
        if (!reference.hasBlockMap()) {
            return "backup " + ref.id() + " has no block map";
        }
        if (!Boolean.TRUE.equals(ref.dataChecksums()) || !session.dataChecksums()) {
            return "backup " + ref.id() + " was taken without data checksums, which were turned on since";
        }
        if (ref.timeline() != session.timeline()) {
            return "backup " + ref.id() + " is on timeline " + ref.timeline() + ", the cluster on timeline " + session.timeline();
        }
        if (Lineage.unreadable(lineage)) {
            // Never "the same" as a backup's: two clusters whose files cannot be read (or were emptied) would otherwise match.
            return Lineage.FILE + " in the data directory cannot be read (or is not one a restore wrote), so whether the cluster was "
                    + "restored since backup " + ref.id() + " was taken cannot be told";
        }
        if (!java.util.Objects.equals(ref.lineage(), lineage)) {
            // The summaries name what this cluster changed since the backup's start in its own WAL, which need not be the WAL the backup
            // came from (a copy that went on writing the same timeline, two copies that took the same new one).
            return "the cluster was restored" + (lineage == null ? "" : " (" + Lineage.FILE + " " + lineage + ")") + " since backup "
                    + ref.id() + " was taken" + (ref.lineage() == null ? "" : " from lineage " + ref.lineage())
                    + ": its past since then may not be that backup's";
        }
        return null;
    }

    /**
     * Class loading and JIT are a real share of a short backup. The JSON mapper (for the manifest)
     * and the compressor load on a second thread while this one connects to the server.
     */
    private static void warmUpInBackground() {
        Thread t = new Thread(() -> {
            try {
                Repository.warmUp();
                com.github.luben.zstd.Zstd.compress(new byte[Page.SIZE], ObjectStore.ZSTD_LEVEL);
            } catch (RuntimeException | java.io.IOException | LinkageError e) {
                // only a warm-up: the real use reports any problem
            }
        }, "pgstrata-warmup");
        t.setDaemon(true);
        t.start();
    }

    private String newId(Repository repo, BackupType type) {
        String base = ID_FORMAT.format(Instant.now(clock)) + switch (type) {
            case FULL -> "F";
            case INCR -> "I";
            case DIFF -> "D";
            case REVERSE -> "R";
        };
        String id = base;
        for (int n = 2; repo.backupIds().contains(id); n++) {
            id = base + "_" + n;
        }
        return id;
    }

    /**
     * Copies files in parallel, biggest first, and pg_control last of all. Every file is read
     * whole: its content checksummed, each block hashed (the block map), page checksums verified;
     * against a reference, {@link Change} decides what is stored.
     */
    private final class Copier {
        private final ObjectStore objects;
        private final String id;
        private final Compression compression;
        private final Lsn startLsn;
        private final boolean verifyChecksums;
        private final long totalBytes;
        private final int pauseAfterFiles;
        private final AtomicLong bytesDone = new AtomicLong();
        private final AtomicLong filesDone = new AtomicLong();
        private final List<String> corruptPages = Collections.synchronizedList(new ArrayList<>());
        /** The backup this one is built on, or null for a full. */
        private final Reference reference;
        final AtomicLong pagesStored = new AtomicLong();
        /** Bytes of file content read from the data directory (re-reads of a torn page left out). */
        final AtomicLong bytesRead = new AtomicLong();
        /** A reverse-delta backup: a new full, noting the changed blocks of each relation. */
        private final boolean reverse;
        /** For a reverse-delta backup: the blocks of each relation file that differ from the old full's (by its block map). */
        final java.util.Map<String, BlockList> changedForReverse = new java.util.concurrent.ConcurrentHashMap<>();
        /** The hash of every block read, for this backup's block map. */
        final BlockMap.Builder blockHashes = new BlockMap.Builder();
        /** What the WAL summaries say changed since the reference, or null: every block is read and compared. */
        WalSummaries.Changes summaries;
        /**
         * Small files modified at or after this time (ms since the epoch) are read even when the
         * summaries call them unchanged: the reference's start, less a second for file systems
         * that keep coarse times.
         */
        private final long unreadBefore;
        /** Whether the backup's session still holds the backup open (null: not checked). */
        java.util.function.BooleanSupplier sessionAlive;
        /** When (System.nanoTime) the session is checked next: every few seconds while copying. */
        private final AtomicLong nextSessionCheck = new AtomicLong(System.nanoTime() + SESSION_CHECK_NANOS);

        Copier(ObjectStore objects, String id, Compression compression, Lsn startLsn, boolean verifyChecksums, long totalBytes,
               int pauseAfterFiles, Reference reference, boolean reverse) {
            this.reference = reference;
            this.reverse = reverse;
            this.unreadBefore = reference == null ? Long.MIN_VALUE : unreadBefore(reference.manifest());
            this.objects = objects;
            this.id = id;
            this.compression = compression;
            this.startLsn = startLsn;
            this.verifyChecksums = verifyChecksums;
            this.totalBytes = totalBytes;
            this.pauseAfterFiles = pauseAfterFiles;
        }

        List<FileEntry> copyAll(List<DataDirectoryScan.Item> items, int jobs) throws IOException {
            DataDirectoryScan.Item control = null;
            List<DataDirectoryScan.Item> large = new ArrayList<>();
            List<DataDirectoryScan.Item> small = new ArrayList<>();
            for (DataDirectoryScan.Item i : items) {
                if (i.path().equals("global/pg_control")) {
                    control = i;
                } else if (i.size() >= BUNDLE_FILE_LIMIT) {
                    large.add(i);
                } else {
                    small.add(i);
                }
            }
            large.sort(Comparator.comparingLong(DataDirectoryScan.Item::size).reversed());
            List<java.util.concurrent.Callable<List<FileEntry>>> tasks = new ArrayList<>();
            for (DataDirectoryScan.Item item : large) {
                // A file much bigger than the rest gets all the compression threads.
                int workers = item.size() >= ZSTD_WORKERS_FROM ? jobs : 1;
                tasks.add(() -> {
                    FileEntry e = copyLarge(item, workers);
                    return e == null ? List.of() : List.of(e);
                });
            }
            List<List<DataDirectoryScan.Item>> groups = splitByBytes(small, jobs);
            for (int g = 0; g < groups.size(); g++) {
                List<DataDirectoryScan.Item> group = groups.get(g);
                int n = g;
                tasks.add(() -> copyBundled(group, n));
            }
            List<FileEntry> result = new ArrayList<>();
            for (List<FileEntry> part : Parallel.run(jobs, "pgstrata-copy", tasks)) {
                result.addAll(part);
            }
            if (control != null) {
                FileEntry e = copyLarge(control, 1);
                if (e != null) {
                    result.add(e);
                }
            }
            if (!corruptPages.isEmpty()) {
                throw new PgstrataException(ErrorCode.CORRUPT, "the data directory has " + corruptPages.size()
                        + " page(s) with a wrong checksum, first: " + corruptPages.get(0) + "; the backup was not kept",
                        "repair the cluster (e.g. restore the affected relation) before backing up; the earlier backups are intact");
            }
            result.sort(Comparator.comparing(FileEntry::path));
            return result;
        }

        /** Contiguous runs of files (in path order) with about the same number of bytes each. */
        private List<List<DataDirectoryScan.Item>> splitByBytes(List<DataDirectoryScan.Item> items, int parts) {
            List<DataDirectoryScan.Item> sorted = new ArrayList<>(items);
            sorted.sort(Comparator.comparing(DataDirectoryScan.Item::path));
            long total = sorted.stream().mapToLong(i -> Math.max(i.size(), 1)).sum();
            long per = Math.max(1, total / Math.max(1, parts) + 1);
            List<List<DataDirectoryScan.Item>> groups = new ArrayList<>();
            List<DataDirectoryScan.Item> current = new ArrayList<>();
            long bytes = 0;
            for (DataDirectoryScan.Item i : sorted) {
                current.add(i);
                bytes += Math.max(i.size(), 1);
                if (bytes >= per && groups.size() < parts - 1) {
                    groups.add(current);
                    current = new ArrayList<>();
                    bytes = 0;
                }
            }
            if (!current.isEmpty()) {
                groups.add(current);
            }
            return groups;
        }

        /** The reference's copy of a file, or null (a full, or a file the reference does not hold). */
        private Reference.Held held(DataDirectoryScan.Item item) throws IOException {
            return reference == null ? null : reference.file(item.path());
        }

        /** Small files, read whole, each compressed on its own into shared bundle objects. */
        private List<FileEntry> copyBundled(List<DataDirectoryScan.Item> items, int group) throws IOException {
            List<FileEntry> entries = new ArrayList<>();
            ObjectStore.Bundle bundle = null;
            int sequence = 0;
            try {
                for (DataDirectoryScan.Item item : items) {
                    Reference.Held held = held(item);
                    if (unchangedBySummaries(item, held)) {
                        // Not read: the WAL summaries name no block of it, and it has the reference's size.
                        entries.add(unchangedEntry(item, item.size(), held.checksum(), held));
                        blockHashes.put(item.path(), held.hashes().clone());
                        progress.advance(bytesDone.addAndGet(item.size()), totalBytes);
                        fileDone();
                        continue;
                    }
                    byte[] content;
                    try {
                        content = Files.readAllBytes(item.absolute());
                        bytesRead.addAndGet(content.length);
                    } catch (NoSuchFileException e) {
                        continue; // dropped while we copied: WAL replay drops it too
                    }
                    int length = content.length;
                    if (verifyChecksums && length > 0 && DataDirectoryScan.isRelationDataPath(item.path())) {
                        long firstBlock = RelationFile.parse(item.absolute().getFileName().toString()).orElseThrow().firstBlock();
                        checkPages(null, item.absolute(), content, length, 0, firstBlock, item.path());
                    }
                    long[] hashes = BlockMap.hashAll(content, length);
                    String checksum = Checksum.of(content, 0, length);
                    Change.Kind kind = Change.Kind.WHOLE;
                    List<Long> blocks = null;
                    if (held != null) {
                        boolean byPages = Reference.byPages(item.path()) && held.hashes() != null;
                        blocks = byPages ? Change.changedBlocks(held.hashes(), hashes, length, 0) : null;
                        checksum = Change.inFormOf(held.checksum(), checksum, hashes);
                        kind = Change.classify(held, length, checksum, byPages, blocks == null ? 0 : blocks.size());
                        if (reverse && blocks != null && kind != Change.Kind.UNCHANGED) {
                            changedForReverse.put(item.path(), BlockList.of(blocks));
                            kind = Change.Kind.WHOLE; // the new full holds it whole
                        }
                    }
                    FileEntry entry;
                    if (kind == Change.Kind.UNCHANGED) {
                        entry = unchangedEntry(item, length, checksum, held);
                    } else if (length == 0) {
                        entry = FileEntry.whole(item.path(), 0, item.mode(), Checksum.EMPTY, null);
                    } else if (kind == Change.Kind.PAGES && blocks.isEmpty()) {
                        // only truncated: the reference's file cut to the new size
                        entry = FileEntry.pages(item.path(), length, item.mode(), checksum, reference.id(), null, BlockList.of(blocks), Checksum.EMPTY);
                    } else {
                        if (bundle != null && bundle.size() >= BUNDLE_TARGET) {
                            bundle.finish();
                            bundle.close();
                            bundle = null;
                        }
                        if (bundle == null) {
                            String key = Repository.BACKUP_PREFIX + id + "/bundle/" + group + "-" + sequence++ + compression.suffix();
                            bundle = objects.bundle(id, key, compression);
                        }
                        if (kind == Change.Kind.PAGES) {
                            byte[] pages = gather(content, length, 0, blocks);
                            ObjectStore.Stored stored = bundle.add(pages, pages.length);
                            pagesStored.addAndGet(blocks.size());
                            entry = FileEntry.pages(item.path(), length, item.mode(), checksum, reference.id(), stored.ref(), BlockList.of(blocks),
                                    stored.contentChecksum());
                        } else {
                            ObjectStore.Stored stored = bundle.add(content, length);
                            entry = FileEntry.whole(item.path(), stored.contentBytes(), item.mode(), stored.contentChecksum(), stored.ref());
                        }
                    }
                    blockHashes.put(item.path(), hashes);
                    entries.add(entry);
                    progress.advance(bytesDone.addAndGet(length), totalBytes);
                    fileDone();
                }
                if (bundle != null) {
                    bundle.finish();
                }
            } finally {
                if (bundle != null) {
                    bundle.close();
                }
            }
            return entries;
        }

        /** A second before {@code m} started, in ms since the epoch; Long.MIN_VALUE (every small file is read) when it does not say. */
        private static long unreadBefore(Manifest m) {
            try {
                return java.time.Instant.parse(m.startTime()).toEpochMilli() - 1000;
            } catch (RuntimeException e) {
                return Long.MIN_VALUE; // no start time to trust: nothing is left unread by its time
            }
        }

        /**
         * Whether a small relation file need not be read at all, its reference copy {@code held} kept: the
         * WAL summaries are in use and name no block of it as modified or cut, the file has the
         * reference's size, and it was last modified before the reference started (both as the scan
         * saw them; a change after this backup's start is WAL replay's). The time is a second
         * check of the summaries' word, as the sample is for large files: a file written without
         * WAL (copied back from an older backup, or changed by a tool on a stopped cluster) is read.
         */
        private boolean unchangedBySummaries(DataDirectoryScan.Item item, Reference.Held held) {
            if (summaries == null || reverse || held == null || held.hashes() == null || held.size() != item.size()
                    || item.modified() >= unreadBefore || !Reference.byPages(item.path())) {
                return false;
            }
            BitSet c = candidates(summaries, item.path(), item.size(), held);
            return c != null && c.isEmpty();
        }

        private FileEntry unchangedEntry(DataDirectoryScan.Item item, long size, String checksum, Reference.Held held) {
            if (reverse) {
                // The new full reads the object the old full stored the file in.
                if (size > 0 && held.wholeObject() == null) {
                    throw new IllegalStateException(item.path() + " has no whole object in full backup " + reference.id());
                }
                return FileEntry.whole(item.path(), size, item.mode(), checksum, held.wholeObject());
            }
            return FileEntry.unchanged(item.path(), size, item.mode(), checksum, held.definedIn(), held.wholeObject());
        }

        /** The listed blocks of {@code data} one after the other, a partial last page padded with zeros. */
        private static byte[] gather(byte[] data, int length, long first, List<Long> blocks) {
            byte[] out = new byte[blocks.size() * Page.SIZE];
            for (int i = 0; i < blocks.size(); i++) {
                int off = (int) ((blocks.get(i) - first) * Page.SIZE);
                System.arraycopy(data, off, out, i * Page.SIZE, Math.min(Page.SIZE, length - off));
            }
            return out;
        }

        /** What one read of a file gave: its size, the checksum of its content, the hash of each block. */
        private record Read(long size, String checksum, long[] hashes) {
            /** The checksum in the form the reference recorded {@code held} in, to compare with it. */
            String checksumLike(Reference.Held held) {
                return Change.inFormOf(held.checksum(), checksum, hashes);
            }
        }

        /** Receives a file's content chunk by chunk, at {@code pos}, after its pages were checked, with its blocks' hashes. */
        private interface Chunks {
            void accept(byte[] data, int length, long pos, long[] hashes) throws IOException;
        }

        /**
         * Reads a file once from start to end, verifying page checksums (relation files, when the
         * cluster has them), hashing each block and the whole content; hands each chunk to
         * {@code chunks}. Null when the file vanished (dropped while we copied: WAL replay drops
         * it too).
         */
        private Read read(DataDirectoryScan.Item item, Chunks chunks) throws IOException {
            return read(item, chunks, true);
        }

        /** {@link #read(DataDirectoryScan.Item, Chunks)}; a first look at a file that may be read again counts no progress. */
        private Read read(DataDirectoryScan.Item item, Chunks chunks, boolean counts) throws IOException {
            boolean relation = DataDirectoryScan.isRelationDataPath(item.path());
            Checksum digest = new Checksum();
            BlockMap.Collector hashes = new BlockMap.Collector();
            long pos = 0;
            try (FileChannel ch = FileChannel.open(item.absolute(), StandardOpenOption.READ)) {
                long firstBlock = relation ? RelationFile.parse(item.absolute().getFileName().toString()).orElseThrow().firstBlock() : 0;
                // A file smaller than a chunk gets a buffer of its size and a page more (a read that finds the end):
                // a chunk for each of a cluster's hundreds of small catalogs cost a garbage collection per backup.
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, (item.size() / Page.SIZE + 1) * Page.SIZE));
                while (true) {
                    int n = readFully(ch, buf.clear(), pos);
                    bytesRead.addAndGet(n);
                    if (n <= 0) {
                        break;
                    }
                    if (verifyChecksums && relation) {
                        checkPages(ch, item.absolute(), buf.array(), n, pos, firstBlock, item.path());
                    }
                    long[] chunkHashes = hashes.add(buf.array(), n);
                    digest.update(buf.array(), 0, n);
                    chunks.accept(buf.array(), n, pos, chunkHashes);
                    pos += n;
                    if (counts) {
                        progress.advance(bytesDone.addAndGet(n), totalBytes);
                    }
                    checkSession();
                    if (n < buf.capacity()) {
                        break; // the end: a full buffer (even one smaller than a chunk) means the file may go on, grown since the scan
                    }
                }
            } catch (NoSuchFileException e) {
                return null;
            }
            return new Read(pos, digest.hex(), hashes.hashes());
        }

        /**
         * A large file: without a reference, stored whole. With one, a relation is stored page by
         * page (as a new full, for a reverse-delta backup) and any other file is first compared
         * whole, then stored whole if it differs.
         */
        private FileEntry copyLarge(DataDirectoryScan.Item item, int workers) throws IOException {
            Reference.Held held = held(item);
            if (held == null) {
                return storeWhole(item, workers, null);
            }
            if (Reference.byPages(item.path()) && held.hashes() != null) {
                if (reverse) {
                    return storeChangedWhole(item, workers, held);
                }
                if (summaries != null) {
                    Summarized s = storeSummarized(item, held, workers);
                    if (s.applied()) {
                        return s.entry();
                    }
                }
                return storePages(item, workers, held);
            }
            return sameOrWhole(item, workers, held, null);
        }

        /**
         * Reads a file once to compare it whole with the reference's: byte for byte the same, it
         * is recorded unchanged; otherwise it is read again and stored whole (noting its changed
         * blocks against {@code noting}, for a reverse-delta backup).
         */
        private FileEntry sameOrWhole(DataDirectoryScan.Item item, int workers, Reference.Held held, Reference.Held noting)
                throws IOException {
            Read r = read(item, (data, length, pos, hashes) -> { }, false);
            if (r == null) {
                return null;
            }
            if (Change.classify(held, r.size(), r.checksumLike(held), false, 0) == Change.Kind.UNCHANGED) {
                progress.advance(bytesDone.addAndGet(r.size()), totalBytes);
                return recorded(item, unchangedEntry(item, r.size(), held.checksum(), held), r);
            }
            return storeWhole(item, workers, noting);
        }

        /** Records the block hashes of what was read for {@code entry}, and counts the file done. */
        private FileEntry recorded(DataDirectoryScan.Item item, FileEntry entry, Read r) throws IOException {
            blockHashes.put(item.path(), r.hashes());
            fileDone();
            return entry;
        }

        /**
         * For a reverse-delta backup: the new full holds every file whole. A relation that is byte
         * for byte the old full's keeps its object; otherwise it is stored anew, noting which
         * blocks differ from the old full's (the reverse delta needs their old versions).
         */
        private FileEntry storeChangedWhole(DataDirectoryScan.Item item, int workers, Reference.Held held) throws IOException {
            return sameOrWhole(item, workers, held, held);
        }

        /**
         * A relation file over its reference: every page is read (and its checksum verified), the
         * whole content is checksummed, and only the blocks whose bytes differ from the
         * reference's are stored, in block order.
         */
        private FileEntry storePages(DataDirectoryScan.Item item, int workers, Reference.Held held) throws IOException {
            String key = Repository.BACKUP_PREFIX + id + "/data/" + objectName(item.path()) + compression.suffix();
            List<Long> blocks = new ArrayList<>();
            ObjectStore.PendingObject[] pending = new ObjectStore.PendingObject[1];
            try {
                Read r = read(item, (data, length, pos, hashes) -> {
                    List<Long> changed = Change.changedBlocks(held.hashes(), hashes, length, pos / Page.SIZE);
                    if (!changed.isEmpty()) {
                        if (pending[0] == null) {
                            pending[0] = objects.createPages(id, key, compression, workers);
                        }
                        byte[] pages = gather(data, length, pos / Page.SIZE, changed);
                        pending[0].content().write(pages, 0, pages.length);
                        blocks.addAll(changed);
                    }
                });
                if (r == null) {
                    return null;
                }
                FileEntry entry;
                switch (Change.classify(held, r.size(), r.checksumLike(held), true, blocks.size())) {
                    case UNCHANGED -> entry = unchangedEntry(item, r.size(), held.checksum(), held);
                    case PAGES -> {
                        ObjectStore.Stored stored = pending[0] == null ? null : pending[0].finish();
                        pagesStored.addAndGet(blocks.size());
                        entry = FileEntry.pages(item.path(), r.size(), item.mode(), r.checksum(), reference.id(),
                                stored == null ? null : stored.ref(), BlockList.of(blocks), stored == null ? Checksum.EMPTY : stored.contentChecksum());
                    }
                    default -> {
                        if (blocks.size() < BlockMap.blocks(r.size())) {
                            // The reference's block map does not describe its file: store what the file holds now.
                            progress.warn("the block map of backup " + reference.id() + " does not match its copy of " + item.path()
                                    + "; storing the file whole");
                            if (pending[0] != null) {
                                pending[0].close();
                                pending[0] = null;
                            }
                            return storeWhole(item, workers, null);
                        }
                        ObjectStore.Stored stored = pending[0].finish();
                        if (r.size() % Page.SIZE == 0) {
                            entry = FileEntry.whole(item.path(), r.size(), item.mode(), r.checksum(), stored.ref());
                        } else {
                            // every block changed and the last one is short (padded in the object): all pages over the reference
                            pagesStored.addAndGet(blocks.size());
                            entry = FileEntry.pages(item.path(), r.size(), item.mode(), r.checksum(), reference.id(), stored.ref(), BlockList.of(blocks),
                                    stored.contentChecksum());
                        }
                    }
                }
                return recorded(item, entry, r);
            } finally {
                if (pending[0] != null) {
                    pending[0].close();
                }
            }
        }

        /**
         * Stores a file whole; returns null if it vanished. With {@code held} (a reverse-delta
         * backup), also notes which blocks differ from the old full's, from the same bytes that
         * are stored.
         */
        private FileEntry storeWhole(DataDirectoryScan.Item item, int workers, Reference.Held held) throws IOException {
            // One flat directory: each new directory costs an fsync of its parent.
            String key = Repository.BACKUP_PREFIX + id + "/data/" + objectName(item.path()) + compression.suffix();
            List<Long> changed = held == null || held.hashes() == null ? null : new ArrayList<>();
            ObjectStore.PendingObject[] pending = new ObjectStore.PendingObject[1];
            try {
                Read r = read(item, (data, length, pos, hashes) -> {
                    if (pending[0] == null) {
                        pending[0] = objects.create(id, key, compression, workers);
                    }
                    pending[0].content().write(data, 0, length);
                    if (changed != null) {
                        changed.addAll(Change.changedBlocks(held.hashes(), hashes, length, pos / Page.SIZE));
                    }
                });
                if (r == null) {
                    return null;
                }
                if (changed != null) {
                    changedForReverse.put(item.path(), BlockList.of(changed));
                    TestHooks.haltAt("pages-read");
                }
                FileEntry entry;
                if (pending[0] == null) {
                    entry = FileEntry.whole(item.path(), 0, item.mode(), Checksum.EMPTY, null);
                } else {
                    ObjectStore.Stored stored = pending[0].finish();
                    entry = FileEntry.whole(item.path(), stored.contentBytes(), item.mode(), stored.contentChecksum(), stored.ref());
                }
                return recorded(item, entry, r);
            } finally {
                if (pending[0] != null) {
                    pending[0].close();
                }
            }
        }

        /** What {@link #storeSummarized} did: nothing ({@code applied} false: read the file whole), or the entry (null: vanished). */
        private record Summarized(boolean applied, FileEntry entry) {
            static final Summarized NOT_APPLIED = new Summarized(false, null);
        }

        /**
         * The blocks of a relation file (offsets within the file) that must be read because the WAL
         * summaries may not describe them: the ones they name modified, everything from the length
         * the fork was cut to, and everything past the reference's end. Null when the file must be
         * read whole: its database was created in the range, the fork was cut below this segment,
         * its size is not whole blocks, or most of it changed anyway.
         */
        private static BitSet candidates(WalSummaries.Changes summaries, String path, long size, Reference.Held held) {
            WalSummaries.Fork fork = fork(path);
            if (fork == null || size % Page.SIZE != 0 || held.size() % Page.SIZE != 0
                    || summaries.databaseCreated(fork.tablespace(), fork.database())) {
                return null;
            }
            RelationFile rf = RelationFile.parse(path.substring(path.lastIndexOf('/') + 1)).orElseThrow();
            int n = (int) (size / Page.SIZE);
            long first = rf.firstBlock();
            long limit = summaries.limit(fork);
            if (limit <= first) {
                return null;
            }
            BitSet modified = summaries.modified(fork, rf.segment());
            BitSet c = modified == null ? new BitSet() : (BitSet) modified.clone();
            if (c.length() > n) {
                c.clear(n, c.length());
            }
            if (limit - first < n) {
                c.set((int) (limit - first), n);
            }
            int held_ = held.hashes().length;
            if (held_ < n) {
                c.set(held_, n);
            }
            return c.cardinality() > n * 0.9 ? null : c;
        }

        /**
         * Before anything is copied: reads a few blocks that the summaries call unchanged (the
         * first and one chosen at random of each large relation file, up to 512 files, and of
         * {@value #SMALL_SAMPLES} small relation files chosen at random) and checks
         * that they hash as the reference's. A block written since this backup started is no
         * evidence (WAL replay rewrites it). Null when all agree; otherwise the first disagreement.
         */
        String sampleUnchanged(WalSummaries.Changes changes, List<DataDirectoryScan.Item> items) throws IOException {
            List<DataDirectoryScan.Item> large = new ArrayList<>(items.stream()
                    .filter(i -> i.size() >= BUNDLE_FILE_LIMIT && Reference.byPages(i.path())).toList());
            large.sort(Comparator.comparingLong(DataDirectoryScan.Item::size).reversed());
            java.util.Random random = new java.util.Random(startLsn.value());
            // Small relation files are not read either when the summaries call them unchanged: sample some of them too.
            List<DataDirectoryScan.Item> small = new ArrayList<>(items.stream()
                    .filter(i -> i.size() > 0 && i.size() < BUNDLE_FILE_LIMIT && Reference.byPages(i.path())).toList());
            java.util.Collections.shuffle(small, random);
            List<DataDirectoryScan.Item> sampled = new ArrayList<>(large.subList(0, Math.min(512, large.size())));
            sampled.addAll(small.subList(0, Math.min(SMALL_SAMPLES, small.size())));
            byte[] page = new byte[Page.SIZE];
            for (DataDirectoryScan.Item item : sampled) {
                Reference.Held held = held(item);
                if (held == null || held.hashes() == null) {
                    continue;
                }
                BitSet c = candidates(changes, item.path(), item.size(), held);
                if (c == null) {
                    continue;
                }
                int n = (int) Math.min(item.size() / Page.SIZE, held.hashes().length);
                int firstUnchanged = c.nextClearBit(0);
                int randomUnchanged = n == 0 ? n : c.nextClearBit(random.nextInt(n));
                for (int b : new int[] {firstUnchanged, randomUnchanged}) {
                    if (b >= n) {
                        continue;
                    }
                    try (FileChannel ch = FileChannel.open(item.absolute(), StandardOpenOption.READ)) {
                        int got = readFully(ch, ByteBuffer.wrap(page), (long) b * Page.SIZE);
                        bytesRead.addAndGet(got);
                        if (got < Page.SIZE) {
                            continue;
                        }
                    } catch (NoSuchFileException e) {
                        continue;
                    }
                    if (!Page.lsn(page, 0).isBefore(startLsn)) {
                        continue; // written since this backup started
                    }
                    if (BlockMap.hash(page, 0, Page.SIZE) != held.hashes()[b]) {
                        return "block " + b + " of " + item.path() + " differs from backup " + reference.id()
                                + "'s copy, though the WAL summaries name no change to it (a copy restored from an older backup, "
                                + "or pages changed without WAL)";
                    }
                }
            }
            return null;
        }

        /**
         * A relation file over its reference, by the WAL summaries: only the candidate blocks (see
         * {@link #candidates}) are read, their page checksums verified and their bytes compared
         * with the reference's block map; the others are the reference's, and keep its hashes.
         * The file's checksum is recorded in block form, computed from all its blocks' hashes.
         */
        private Summarized storeSummarized(DataDirectoryScan.Item item, Reference.Held held, int workers) throws IOException {
            String key = Repository.BACKUP_PREFIX + id + "/data/" + objectName(item.path()) + compression.suffix();
            ObjectStore.PendingObject pending = null;
            try (FileChannel ch = FileChannel.open(item.absolute(), StandardOpenOption.READ)) {
                long size = ch.size();
                BitSet c = candidates(summaries, item.path(), size, held);
                if (c == null) {
                    return Summarized.NOT_APPLIED;
                }
                int n = (int) (size / Page.SIZE);
                long[] hashes = new long[n];
                System.arraycopy(held.hashes(), 0, hashes, 0, Math.min(n, held.hashes().length));
                long firstBlock = RelationFile.parse(item.absolute().getFileName().toString()).orElseThrow().firstBlock();
                List<Long> blocks = new ArrayList<>();
                // No larger than the candidates (a run read at once is never longer): none for a file they leave unread.
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, (long) c.cardinality() * Page.SIZE));
                for (int start = c.nextSetBit(0); start >= 0 && start < n; ) {
                    int end = Math.min(c.nextClearBit(start), start + CHUNK / Page.SIZE);
                    buf.clear().limit((end - start) * Page.SIZE);
                    int got = readFully(ch, buf, (long) start * Page.SIZE);
                    bytesRead.addAndGet(got);
                    if (got < (end - start) * Page.SIZE) {
                        // cut while we read: read it whole instead
                        if (pending != null) {
                            pending.close();
                        }
                        pending = null;
                        return Summarized.NOT_APPLIED;
                    }
                    byte[] data = buf.array();
                    if (verifyChecksums) {
                        checkPages(ch, item.absolute(), data, got, (long) start * Page.SIZE, firstBlock, item.path());
                    }
                    for (int b = start; b < end; b++) {
                        int off = (b - start) * Page.SIZE;
                        long h = BlockMap.hash(data, off, Page.SIZE);
                        hashes[b] = h;
                        if (Change.blockChanged(held.hashes(), b, h, Page.SIZE)) {
                            if (pending == null) {
                                pending = objects.createPages(id, key, compression, workers);
                            }
                            pending.content().write(data, off, Page.SIZE);
                            blocks.add((long) b);
                        }
                    }
                    start = end < n && c.get(end) ? end : c.nextSetBit(end);
                }
                FileEntry entry;
                if (blocks.isEmpty() && size == held.size()) {
                    entry = unchangedEntry(item, size, held.checksum(), held);
                } else {
                    ObjectStore.Stored stored = pending == null ? null : pending.finish();
                    pagesStored.addAndGet(blocks.size());
                    entry = FileEntry.pages(item.path(), size, item.mode(), Checksum.ofBlockHashes(hashes), reference.id(),
                            stored == null ? null : stored.ref(), BlockList.of(blocks), stored == null ? Checksum.EMPTY : stored.contentChecksum());
                }
                blockHashes.put(item.path(), hashes);
                progress.advance(bytesDone.addAndGet(size), totalBytes);
                fileDone();
                return new Summarized(true, entry);
            } catch (NoSuchFileException e) {
                return new Summarized(true, null); // dropped while we copied: WAL replay drops it too
            } finally {
                if (pending != null) {
                    pending.close();
                }
            }
        }

        /**
         * Fails the copy at once when the backup's session is gone (the server restarted, shut down
         * or ended it): the backup can no longer be stopped, so copying on would only waste hours.
         */
        private void checkSession() {
            if (sessionAlive == null) {
                return;
            }
            long next = nextSessionCheck.get();
            long now = System.nanoTime();
            if (now - next < 0 || !nextSessionCheck.compareAndSet(next, now + SESSION_CHECK_NANOS)) {
                return;
            }
            if (!sessionAlive.getAsBoolean()) {
                throw new PgstrataException(ErrorCode.CONNECTION, "the backup's session ended while its files were copied"
                        + " (the server shut down or restarted, or ended the session): the backup cannot be stopped and was not kept",
                        "once the server accepts connections again, run the backup again");
            }
        }

        private void fileDone() {
            checkSession();
            long n = filesDone.incrementAndGet();
            if (pauseAfterFiles > 0 && n == pauseAfterFiles) {
                pauseForTest();
            }
        }

        /**
         * Verifies the page checksums in {@code data}. A page that fails is read again (from
         * {@code ch}, or by opening {@code file} when the caller has no channel), because a
         * concurrent write may have torn it under us.
         */
        private void checkPages(FileChannel ch, Path file, byte[] data, int length, long filePos, long firstBlock, String path)
                throws IOException {
            for (int off = 0; off + Page.SIZE <= length; off += Page.SIZE) {
                long block = firstBlock + (filePos + off) / Page.SIZE;
                if (PageChecksum.verify(data, off, block) || !Page.lsn(data, off).isBefore(startLsn)) {
                    continue; // good, or written after the backup started (WAL replay rewrites it)
                }
                // A concurrent write may have torn the page under us: read it once more.
                ByteBuffer again = ByteBuffer.allocate(Page.SIZE);
                if (ch != null) {
                    readFully(ch, again, filePos + off);
                } else {
                    try (FileChannel reread = FileChannel.open(file, StandardOpenOption.READ)) {
                        readFully(reread, again, filePos + off);
                    } catch (NoSuchFileException e) {
                        continue; // dropped meanwhile: WAL replay drops it too
                    }
                }
                byte[] page = again.array();
                if (PageChecksum.verify(page, 0, block) || !Page.lsn(page, 0).isBefore(startLsn)) {
                    System.arraycopy(page, 0, data, off, Page.SIZE);
                    continue;
                }
                corruptPages.add(path + " block " + block);
            }
        }

        private void pauseForTest() {
            progress.warn("test hook: pausing after " + pauseAfterFiles + " files");
            java.nio.file.Path resume = org.pgstrata.api.TestHooks.resumeFile();
            try {
                while (resume == null || !Files.exists(resume)) {
                    Thread.sleep(resume == null ? Long.MAX_VALUE : 50);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }


    private static int readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /**
     * Waits until the archive holds every segment from the start LSN's to the stop LSN's. The
     * server's archiver pushes them (pg_backup_stop switched to a new segment, so the last one is
     * complete); nothing is copied from pg_wal behind its back. The timeout is per segment: the
     * wait fails when the archive stops growing, not when a long backup's WAL takes a while.
     */
    private void waitForArchive(WalArchive archive, Lsn start, Lsn end, BackupSession.StopResult stop, long segSize, int timeoutSeconds,
                                java.util.function.UnaryOperator<String> archiver, String hint) throws IOException {
        long first = start.segmentNumber(segSize);
        long last = new Lsn(end.value() - 1).segmentNumber(segSize);
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        for (long seg = first; seg <= last; seg++) {
            String name = WalFileName.segment(stop.timeline(), seg, segSize);
            while (archive.find(name).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new PgstrataException(ErrorCode.WAL_MISSING, "WAL segment " + name + " that the backup needs did not reach the archive in "
                            + archive.storage().describe() + " within " + timeoutSeconds + " s of the one before" + archiver.apply(name)
                            + "; the backup was not kept", hint);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the archive");
                }
            }
            // Progress, not the clock: a busy archiver that keeps delivering is waited for.
            deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        }
    }

    /** The relation fork a relation file belongs to, as the WAL summaries name it; null for a path that is none. */
    static WalSummaries.Fork fork(String path) {
        String[] parts = path.split("/");
        java.util.Optional<RelationFile> rf = RelationFile.parse(parts[parts.length - 1]);
        if (rf.isEmpty() || rf.get().temporary()) {
            return null;
        }
        int forkNumber = switch (rf.get().fork()) {
            case "main" -> 0;
            case "fsm" -> 1;
            case "vm" -> 2;
            default -> 3;
        };
        try {
            if (parts.length == 2 && parts[0].equals("global")) {
                return new WalSummaries.Fork(WalSummaries.GLOBAL_TABLESPACE, 0, rf.get().relfilenode(), forkNumber);
            }
            if (parts.length == 3 && parts[0].equals("base")) {
                return new WalSummaries.Fork(WalSummaries.DEFAULT_TABLESPACE, Long.parseLong(parts[1]), rf.get().relfilenode(), forkNumber);
            }
            if (parts.length == 5 && parts[0].equals("pg_tblspc")) {
                return new WalSummaries.Fork(Long.parseLong(parts[1]), Long.parseLong(parts[3]), rf.get().relfilenode(), forkNumber);
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return null;
    }

    /**
     * Refuses a standby's backup that would start on an earlier timeline than the one its replay has
     * reached: a standby that followed its primary's promotion restarts only at a checkpoint it has
     * replayed, and the new primary's first checkpoint (the one its promotion asked for, spread over
     * minutes) may not be there yet; the backup's start is then its last restartpoint, before the
     * switch. Its stop, the minimum recovery point, would be on the later timeline, which the stop
     * refuses (WAL is looked up by the start's timeline): said now, before every file is copied.
     */
    private static void requireStartOnReplayedTimeline(int startTimeline, int replayedTimeline, Lsn startLsn) {
        if (replayedTimeline > startTimeline) {
            throw new PgstrataException(ErrorCode.SERVER, "the standby follows timeline " + replayedTimeline + " (its primary was promoted "
                    + "or replaced) but has replayed no checkpoint on it yet: its backup would start at its last restartpoint " + startLsn
                    + " on timeline " + startTimeline + " and end on timeline " + replayedTimeline + ", and a backup is kept only on one "
                    + "timeline; nothing was copied",
                    "run CHECKPOINT on the new primary (the checkpoint its promotion asked for can take minutes), let the standby replay "
                            + "it, and run the backup again");
        }
    }

    /**
     * A standby's backup starts at its last restartpoint, which moves only when it replays a
     * checkpoint of the primary: until then every backup there starts at the same LSN, before the
     * previous one's stop. An incremental must start after the backup it builds on (restore checks
     * the chain so, and the WAL from that start must cover everything since), so it is refused with
     * what to do. A standby on the reference's timeline that has not even replayed up to the
     * reference's stop lags behind the primary the reference was taken on: said so, with what to
     * wait for (the lineage check would only say that the cluster is not a continuation of it).
     */
    private static void requireRestartpointAfter(Manifest base, Lsn startLsn, Lsn replayed, BackupType type, int timeline) {
        Lsn baseStop = Lsn.parse(base.stopLsn());
        if (replayed.isBefore(baseStop) && base.timeline() == timeline) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "the standby has replayed WAL up to " + replayed + " only, before backup "
                    + base.id() + " ends (" + base.stopLsn() + "), which the " + type.label() + " would build on: it lags behind the primary",
                    "wait until pg_last_wal_replay_lsn() on the standby passes " + base.stopLsn() + " (is its replay paused, or its "
                    + "connection to the primary down?) and run the backup again; or take a full backup (--type full)");
        }
        if (startLsn.isBefore(baseStop) && !replayed.isBefore(baseStop)) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "the standby's backup would start at " + startLsn
                    + ", its last restartpoint, before backup " + base.id() + " ends (" + base.stopLsn() + "), and an " + type.label()
                    + " must start after the backup it builds on: the primary has not made a checkpoint since, and a standby cannot make "
                    + "one of its own", "run CHECKPOINT on the primary, let the standby replay it, and run the backup again; "
                    + "or take a full backup (--type full)");
        }
    }

    /**
     * Whether a standby's own pg_wal holds every segment from the start LSN's to {@code end}'s, so
     * that they can be copied into the backup, as pg_basebackup does: a standby cannot switch
     * segments, and its primary archives the one holding the stop only once it is full (with
     * little writing, hours later). The standby has replayed up to {@code end}, so received it
     * into pg_wal; but a segment it restored from an archive (restore_command) is not kept there,
     * and then the archive has to provide them.
     */
    private boolean standbyHoldsWal(Path pgdata, Lsn start, Lsn end, int timeline, long segSize) {
        for (long seg = start.segmentNumber(segSize); seg <= new Lsn(end.value() - 1).segmentNumber(segSize); seg++) {
            String name = WalFileName.segment(timeline, seg, segSize);
            if (!Files.isRegularFile(pgdata.resolve("pg_wal").resolve(name))) {
                progress.warn("the standby's pg_wal lacks WAL segment " + name + " that the backup needs; waiting for it in the archive");
                return false;
            }
        }
        return true;
    }

    /** Copies the WAL segments from the start LSN's to {@code end}'s, and the timeline history files. */
    private List<WalEntry> copyWal(ObjectStore objects, String id, Compression compression, Path pgdata, Lsn start, Lsn end,
                                   BackupSession.StopResult stop, long segSize) throws IOException {
        Path walDir = pgdata.resolve("pg_wal");
        long first = start.segmentNumber(segSize);
        long last = new Lsn(end.value() - 1).segmentNumber(segSize);
        List<String> names = new ArrayList<>();
        for (long seg = first; seg <= last; seg++) {
            names.add(WalFileName.segment(stop.timeline(), seg, segSize));
        }
        try (var list = Files.list(walDir)) {
            list.map(p -> p.getFileName().toString()).filter(WalFileName::isHistory).sorted().forEach(names::add);
        }
        List<WalEntry> result = new ArrayList<>();
        for (String name : names) {
            Path file = walDir.resolve(name);
            if (!Files.isRegularFile(file)) {
                throw new PgstrataException(ErrorCode.IO, "WAL segment " + name + " needed by the backup is missing from " + walDir,
                        "the server removed it before it could be copied; check max_slot_wal_keep_size and run the backup again");
            }
            String key = Repository.BACKUP_PREFIX + id + "/wal/" + name + compression.suffix();
            try (InputStream in = Files.newInputStream(file); ObjectStore.PendingObject p = objects.create(id, key, compression)) {
                in.transferTo(p.content());
                ObjectStore.Stored s = p.finish();
                if (WalFileName.isSegment(name) && s.contentBytes() != segSize) {
                    throw new PgstrataException(ErrorCode.IO, "WAL segment " + name + " has " + s.contentBytes() + " bytes, expected " + segSize,
                            "run the backup again");
                }
                result.add(new WalEntry(name, s.contentBytes(), s.contentChecksum(), s.ref()));
            }
        }
        return result;
    }


}
