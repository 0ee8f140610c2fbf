package org.pgstrata.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.ObjectNotFoundException;

/**
 * Proves what a restore would do, without writing anything: every file of every backup (or of
 * one backup, or of those since a time) is rebuilt through its chain by the code restore uses
 * ({@link Rebuild}), streaming, and compared with the whole-file checksum its manifest records;
 * its blocks are compared with the backup's block map, which the next incremental trusts. Every
 * object read is checked against its stored checksum on the way. Files that several backups
 * hold alike, or that lie over the same whole file (a file through an incremental chain), are
 * rebuilt together in one pass that reads each object once, so verifying a chain costs about
 * one restore of its newest backup's objects, without the writes.
 *
 * <p>Reports every problem rather than stopping at the first, names each backup that restore
 * would reject, and names backup directories that have no manifest.
 */
public final class Verifier {
    private final Progress progress;

    public Verifier(Progress progress) {
        this.progress = progress;
    }

    public VerifyResult verify(Repository repo, String backupId) {
        return verify(repo, backupId, null, 2);
    }

    /** With {@code backupId} or {@code since}, only those backups (and the logical ones likewise). */
    public VerifyResult verify(Repository repo, String backupId, Instant since, int jobs) {
        for (int attempt = 1; ; attempt++) {
            Map<String, Manifest> read = new java.util.concurrent.ConcurrentHashMap<>();
            VerifyResult r = verifyOnce(repo, backupId, since, jobs, read);
            if (r.rejected().isEmpty() && r.problems().isEmpty() || attempt == 3) {
                return r;
            }
            // Verify takes no lock: a delete or expire may remove a backup it reads, a reverse backup turn a full it reads
            // into a reverse delta, and the objects they no longer need go. That is no damage: verify what is there now.
            // An expire that removed a backup after it was rebuilt takes its WAL too, which the archive check then found
            // missing from that backup's start (a "gap"): a problem that rejects no backup, and is looked at again too.
            List<String> changed = changedMeanwhile(repo, read);
            if (changed.isEmpty()) {
                return r;
            }
            progress.warn("backup" + (changed.size() == 1 ? " " : "s ") + String.join(", ", changed) + " changed while verify read "
                    + (changed.size() == 1 ? "it" : "them") + " (removed by delete or expire, or turned into a reverse delta by a reverse"
                    + " backup): verifying again");
        }
    }

    /**
     * Of the backups whose manifests {@code read} holds as a verify read them, those another command
     * removed or rewrote since ({@link Repository#changedSince}).
     */
    private static List<String> changedMeanwhile(Repository repo, Map<String, Manifest> read) {
        return new java.util.TreeMap<>(read).values().stream()
                .flatMap(was -> repo.changedSince(was).stream()).map(Repository.Meanwhile::id).toList();
    }

    private VerifyResult verifyOnce(Repository repo, String backupId, Instant since, int jobs, Map<String, Manifest> read) {
        long t0 = System.nanoTime();
        repo.requireInfo();
        boolean logicalOnly = backupId != null && repo.logicalIds().contains(backupId);
        List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
        Set<String> rejected = java.util.Collections.synchronizedSet(new TreeSet<>());
        List<Manifest> all = repo.backups();
        List<Manifest> manifests;
        if (backupId != null) {
            manifests = logicalOnly ? List.of() : List.of(repo.manifest(backupId));
        } else {
            manifests = all.stream().filter(m -> since == null || !Instant.parse(m.stopTime()).isBefore(since)).toList();
            repo.damagedBackups().forEach((id, why) -> {
                problems.add("backup " + id + ": " + why);
                rejected.add(id);
            });
        }
        Stats stats = new Stats();
        rebuildAll(repo, manifests, jobs, problems, rejected, stats, read);
        for (Manifest m : manifests) {
            for (WalEntry w : m.wal()) {
                stats.object(w.object().key(), w.object().storedBytes());
                if (!check(repo, m.id(), "pg_wal/" + w.name(), w.object(), w.size(), w.checksum(), problems)) {
                    rejected.add(m.id());
                }
            }
        }
        List<LogicalManifest> logical = backupId == null
                ? repo.logicalBackups().stream().filter(m -> since == null || !Instant.parse(m.stopTime()).isBefore(since)).toList()
                : logicalOnly ? List.of(repo.logicalManifest(backupId)) : List.of();
        if (backupId == null) {
            repo.damagedLogical().forEach((id, why) -> {
                problems.add("logical backup " + id + ": " + why);
                rejected.add(id);
            });
        }
        for (LogicalManifest m : logical) {
            progress.step("verifying logical backup " + m.id() + " (" + m.objects().size() + " objects)");
            if (m.differential()) {
                try {
                    if (!repo.storage().exists(Repository.logicalManifestKey(m.reference()))) {
                        problems.add("logical backup " + m.id() + " cannot be restored: its logical full " + m.reference() + " is missing");
                        rejected.add(m.id());
                    } else {
                        repo.logicalManifest(m.reference());
                    }
                } catch (org.pgstrata.api.PgstrataException e) {
                    problems.add("logical backup " + m.id() + " cannot be restored: " + e.getMessage());
                    rejected.add(m.id());
                } catch (IOException e) {
                    problems.add("logical backup " + m.id() + ": cannot read its full's manifest: " + e.getMessage());
                    rejected.add(m.id());
                }
            }
            if (!checkLogical(repo, m, stats, problems)) {
                rejected.add(m.id());
            }
        }
        // A differential's restore reads its full's archive: a full that a restore rejects takes its differentials with it.
        Map<String, Boolean> fulls = new java.util.HashMap<>();
        for (LogicalManifest m : logical) {
            if (!m.differential()) {
                fulls.put(m.id(), !rejected.contains(m.id()));
            }
        }
        for (LogicalManifest m : logical) {
            if (m.differential() && !rejected.contains(m.id())) {
                Boolean fullRestores = fulls.get(m.reference());
                if (fullRestores == null) { // verify --backup or --since left the full out: check what the restore reads of it
                    try {
                        fullRestores = checkLogical(repo, repo.logicalManifest(m.reference()), stats, problems);
                    } catch (org.pgstrata.api.PgstrataException e) {
                        fullRestores = true; // its manifest's problem is reported above
                    }
                    fulls.put(m.reference(), fullRestores);
                }
                if (!fullRestores) {
                    problems.add("logical backup " + m.id() + " cannot be restored: its logical full " + m.reference() + " is damaged");
                    rejected.add(m.id());
                }
            }
        }
        List<String> incomplete = new ArrayList<>();
        if (backupId == null) {
            incomplete.addAll(repo.incompleteBackups());
            // a logical backup directory without its manifest too (one killed, or whose manifest was lost): list shows it no more
            incomplete.addAll(repo.incompleteLogicalBackups());
        }
        List<String> unfinished = List.of();
        if (backupId == null) {
            try {
                unfinished = repo.storage().unfinishedWrites("");
            } catch (IOException e) {
                problems.add("cannot list unfinished writes: " + e.getMessage());
            }
        }
        checkOwnWal(repo, manifests, problems, rejected, stats.unreadable);
        long[] archived = checkArchive(repo, manifests, problems, stats.unreadable);
        checkDrillRecords(repo, backupId, manifests, logical, rejected, problems);
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new VerifyResult(manifests.size() + logical.size(), stats.objects.size() + archived[0], stats.bytes.get() + archived[1],
                new ArrayList<>(problems), incomplete, unfinished, new ArrayList<>(rejected), stats.files.get(), stats.fileBytes.get(),
                stats.passes.get(), seconds, new ArrayList<>(stats.unreadable));
    }

    /** What was read and rebuilt. */
    private static final class Stats {
        final Set<String> objects = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong files = new AtomicLong();
        final AtomicLong fileBytes = new AtomicLong();
        final AtomicLong passes = new AtomicLong();
        /** Files whose objects the store failed to deliver: not checked, no verdict. */
        final List<String> unreadable = java.util.Collections.synchronizedList(new ArrayList<>());

        void object(String id, long stored) {
            if (objects.add(id)) {
                bytes.addAndGet(stored);
            }
        }
    }

    /** One file to rebuild, and every backup that records it so (same layers, size and checksum). */
    private static final class Job {
        final FileEntry file;
        final List<Chain.Layer> layers;
        final List<Manifest> backups = new ArrayList<>();

        Job(FileEntry file, List<Chain.Layer> layers) {
            this.file = file;
            this.layers = layers;
        }
    }

    /**
     * Rebuilds every file of {@code manifests} through its chain. Files over the same whole file
     * are one pass; passes whose whole file is a bundle member share one read of the bundle.
     */
    private void rebuildAll(Repository repo, List<Manifest> manifests, int jobs, List<String> problems, Set<String> rejected, Stats stats,
                            Map<String, Manifest> read) {
        Map<String, Job> byIdentity = new LinkedHashMap<>();
        Map<String, BlockMap> maps = new HashMap<>();
        for (Manifest m : manifests) {
            Chain chain;
            read.put(m.id(), m);
            try {
                Chain loaded = Chain.load(repo, m);
                loaded.members().forEach(id -> read.put(id, loaded.member(id)));
                chain = loaded;
            } catch (org.pgstrata.api.PgstrataException e) {
                problems.add("backup " + m.id() + " cannot be restored: " + e.getMessage());
                rejected.add(m.id());
                continue;
            }
            try {
                BlockMap map = BlockMap.read(repo.objects(), m);
                if (map != null) {
                    maps.put(m.id(), map);
                    stats.object(m.blockMap().key(), m.blockMap().storedBytes());
                }
            } catch (IOException e) {
                if (isVerdict(e)) {
                    // Restore does not read it, but the next incremental trusts it.
                    problems.add("backup " + m.id() + ": its block map cannot be read (" + e.getMessage() + "); an incremental on it would be refused"
                            + (repo.blockMapMissing(m.id()) ? ". A delete or expire of it that stopped halfway leaves this: "
                                    + "run it again to finish it" : ""));
                } else { // its files are still rebuilt below, only their blocks are not compared with it
                    stats.unreadable.add("backup " + m.id() + ": its block map was not checked: the store failed to deliver it (" + e.getMessage() + ")");
                }
            }
            for (FileEntry f : m.files()) {
                List<Chain.Layer> layers = chain.layers(f.path());
                byIdentity.computeIfAbsent(Rebuild.identity(layers, f.size(), f.checksum()) + "|" + f.path(), k -> new Job(f, layers))
                        .backups.add(m);
            }
        }
        org.pgstrata.api.TestHooks.pauseAt("verify-checked", progress);
        // One pass per whole file at the bottom; the passes over members of one bundle read it once.
        Map<String, List<Job>> passes = new LinkedHashMap<>();
        for (Job j : byIdentity.values()) {
            passes.computeIfAbsent(Rebuild.baseIdentity(j.layers), k -> new ArrayList<>()).add(j);
        }
        Map<String, List<List<Job>>> byBundle = new LinkedHashMap<>();
        List<List<Job>> alone = new ArrayList<>();
        for (List<Job> pass : passes.values()) {
            ObjectRef base = pass.get(0).layers.get(pass.get(0).layers.size() - 1).object();
            if (base != null && base.offset() != null) {
                byBundle.computeIfAbsent(base.key(), k -> new ArrayList<>()).add(pass);
            } else {
                alone.add(pass);
            }
        }
        long total = byIdentity.values().stream().mapToLong(j -> j.file.size()).sum();
        long fileCount = byIdentity.values().stream().mapToLong(j -> j.backups.size()).sum();
        progress.step("verifying " + manifests.size() + " backups: rebuilding " + fileCount + " files through their chains in "
                + passes.size() + " passes (" + org.pgstrata.api.Sizes.human(total) + "), each object read once");
        AtomicLong done = new AtomicLong();
        List<java.util.concurrent.Callable<Void>> tasks = new ArrayList<>();
        List<List<Job>> biggestFirst = new ArrayList<>(alone);
        biggestFirst.sort(Comparator.comparingLong((List<Job> p) -> p.stream().mapToLong(j -> j.file.size()).max().orElse(0)).reversed());
        for (List<Job> pass : biggestFirst) {
            tasks.add(() -> {
                rebuild(repo, pass, null, maps, problems, rejected, stats);
                progress.advance(done.addAndGet(pass.stream().mapToLong(j -> j.file.size()).sum()), total);
                return null;
            });
        }
        for (var e : byBundle.entrySet()) {
            tasks.add(() -> {
                byte[] bundle;
                try {
                    bundle = repo.objects().readStored(e.getKey());
                    stats.object(e.getKey(), bundle.length);
                } catch (IOException ex) {
                    List<Job> all = e.getValue().stream().flatMap(List::stream).toList();
                    if (isVerdict(ex)) {
                        fail(all, "cannot read bundle " + e.getKey() + ": " + ex.getMessage(), problems, rejected); // one problem
                    } else {
                        unreadable(all, "bundle " + e.getKey() + ": " + ex.getMessage(), stats);
                    }
                    return null;
                }
                for (List<Job> pass : e.getValue()) {
                    rebuild(repo, pass, bundle, maps, problems, rejected, stats);
                    progress.advance(done.addAndGet(pass.stream().mapToLong(j -> j.file.size()).sum()), total);
                }
                return null;
            });
        }
        try {
            org.pgstrata.api.Parallel.run(jobs, "pgstrata-verify", tasks);
        } catch (IOException e) {
            problems.add("verify stopped: " + e.getMessage());
        } finally {
            for (BlockMap map : maps.values()) {
                try {
                    map.close();
                } catch (IOException e) {
                    // only a temporary file, already unlinked
                }
            }
        }
    }

    /** One pass: rebuilds the files of {@code pass} (over one whole file) and records what does not match. */
    private static void rebuild(Repository repo, List<Job> pass, byte[] bundle, Map<String, BlockMap> maps, List<String> problems,
                                Set<String> rejected, Stats stats) {
        List<Rebuild.Target> targets = new ArrayList<>();
        for (Job j : pass) {
            boolean hash = j.backups.stream().anyMatch(m -> maps.containsKey(m.id())); // block hashes only where a block map is checked
            targets.add(new Rebuild.Target(j.file.path(), j.layers, j.file.size(), j.file.checksum(), null, hash));
            for (Chain.Layer l : j.layers) {
                if (l.object() != null) {
                    stats.object(l.object().key() + "@" + l.object().start(), l.object().storedBytes());
                }
            }
        }
        try {
            Rebuild.run(repo.objects(), targets, bundle); // a store resumes a cut read itself (S3: ResumingRead)
        } catch (IOException e) {
            if (pass.size() > 1) {
                // The pass shares only its bottom object: a damaged object above it (a reverse delta's or an
                // incremental's pages) is read by some of its files alone. Each file again on its own, so that only
                // the backups that read the damaged object are rejected, as a restore would reject only those.
                for (Job j : pass) {
                    rebuild(repo, List.of(j), bundle, maps, problems, rejected, stats);
                }
                return;
            }
            if (isVerdict(e)) {
                fail(pass, e instanceof CorruptObjectException ? e.getMessage() : "cannot read it: " + e.getMessage(), problems, rejected);
            } else {
                unreadable(pass, e.getMessage(), stats);
            }
            return;
        }
        stats.passes.incrementAndGet();
        for (int i = 0; i < pass.size(); i++) {
            Job j = pass.get(i);
            Rebuild.Target t = targets.get(i);
            stats.files.addAndGet(j.backups.size());
            stats.fileBytes.addAndGet(j.file.size() * j.backups.size());
            if (!t.matches()) {
                List<String> ids = j.backups.stream().map(Manifest::id).toList();
                problems.add("backup" + (ids.size() == 1 ? " " : "s ") + String.join(", ", ids) + " would not restore: " + j.file.path()
                        + " rebuilds from " + j.layers.stream().map(Chain.Layer::backup).distinct().toList() + " with checksum " + t.actual()
                        + ", the manifest says " + j.file.checksum());
                rejected.addAll(ids);
                continue;
            }
            for (Manifest m : j.backups) {
                BlockMap map = maps.get(m.id());
                long[] held;
                try {
                    held = map == null ? null : map.of(j.file.path());
                } catch (IOException e) {
                    problems.add("backup " + m.id() + ": its block map cannot be read (" + e.getMessage() + ")");
                    continue;
                }
                if (map != null && !java.util.Arrays.equals(held, t.blockHashes())) {
                    problems.add("backup " + m.id() + ": its block map does not match its copy of " + j.file.path()
                            + "; an incremental on it could record changed blocks as unchanged");
                }
            }
        }
    }

    /**
     * Whether no object of archived file {@code e}, listed a moment ago, is there any more: what a
     * read found missing was then removed since the listing (WAL pushes never remove; expire
     * does), not lost. A store that fails to answer leaves it a problem.
     */
    private static boolean removedSinceListed(Repository repo, WalArchive.Entry e) {
        try {
            for (String key : e.keys()) {
                if (repo.storage().exists(key)) {
                    return false;
                }
            }
            return true;
        } catch (IOException ex) {
            return false;
        }
    }

    /**
     * Whether a failed read says something about the backup: an object that is damaged or not
     * there. Any other error is the store's failure to deliver it (a connection that failed again
     * and again, after the store's own retries and resumes), as a restore reports it too (exit 22).
     */
    private static boolean isVerdict(IOException e) {
        return e instanceof CorruptObjectException || e instanceof ObjectNotFoundException;
    }

    private static void unreadable(List<Job> pass, String why, Stats stats) {
        for (Job j : pass) {
            List<String> ids = j.backups.stream().map(Manifest::id).toList();
            stats.unreadable.add("backup" + (ids.size() == 1 ? " " : "s ") + String.join(", ", ids) + ": " + j.file.path()
                    + " was not checked: the store failed to deliver it (" + why + ")");
        }
    }

    /**
     * The files of {@code jobs} would not restore, for one reason: one problem, naming the backups
     * they belong to, how many files, and the first few. A damaged bundle made one line for each of
     * its files in each backup that reads it (hundreds), each saying the same.
     */
    private static void fail(List<Job> jobs, String why, List<String> problems, Set<String> rejected) {
        Set<String> ids = new java.util.TreeSet<>();
        Set<String> paths = new java.util.LinkedHashSet<>();
        for (Job j : jobs) {
            j.backups.forEach(m -> ids.add(m.id()));
            paths.add(j.file.path());
        }
        List<String> first = paths.stream().limit(3).toList();
        String named = paths.size() == 1 ? first.get(0)
                : paths.size() + " files (" + String.join(", ", first) + (paths.size() > 3 ? " and " + (paths.size() - 3) + " more" : "") + ")";
        problems.add("backup" + (ids.size() == 1 ? " " : "s ") + String.join(", ", ids) + " would not restore: " + named + ": " + why);
        rejected.addAll(ids);
    }

    /**
     * Reads each backup's own WAL (its start to its consistency point) from the archive, with the
     * check restore makes before it writes anything ({@link OwnWal}). The archive's continuity
     * alone does not show it: a segment lost at the archive's end lies between no two others, and
     * verify said "0 problems" for a backup whose restore then stopped at once (exit 25). One or
     * two segments a backup, read again after the archive's own check.
     */
    private void checkOwnWal(Repository repo, List<Manifest> manifests, List<String> problems, Set<String> rejected, List<String> unreadable) {
        List<Manifest> inArchive = manifests.stream().filter(Manifest::walInArchive).toList();
        if (inArchive.isEmpty()) {
            return;
        }
        WalArchive archive = new WalArchive(repo.storage());
        long segmentSize;
        try {
            segmentSize = new ArchiveTimelines(archive).segmentSize();
        } catch (IOException e) {
            if (isVerdict(e)) {
                problems.add("the backups' own WAL was not checked: the WAL archive could not be read: " + e.getMessage());
            } else {
                unreadable.add("the backups' own WAL was not checked: the store failed to deliver the WAL archive (" + e.getMessage() + ")");
            }
            return;
        }
        for (Manifest m : inArchive) {
            java.util.Optional<OwnWal.Problem> p;
            try {
                p = OwnWal.check(archive, m, segmentSize);
            } catch (IOException e) {
                if (isVerdict(e)) {
                    problems.add("backup " + m.id() + " was not checked: its own WAL could not be read from the archive: " + e.getMessage());
                } else {
                    unreadable.add("backup " + m.id() + ": its own WAL was not checked: the store failed to deliver it (" + e.getMessage() + ")");
                }
                continue;
            }
            if (p.isPresent()) {
                OwnWal.Problem w = p.get();
                problems.add("backup " + m.id() + " cannot be restored: WAL segment " + w.segment() + ", which it needs to reach its consistency point, "
                        + w.describe());
                rejected.add(m.id());
            }
        }
    }

    /**
     * Rereads every archived WAL file (checksum; every copy of a name that has several, which
     * must agree), checks that each segment belongs to the repository's cluster, and that the
     * archive is continuous from each backup's start (or stop, when the backup holds its own WAL)
     * to the newest segment on the newest timeline that descends from it. Also checks that the
     * store refuses a second write of one key, which keeps one content per WAL name. Returns
     * {files, stored bytes}. A segment the store fails to deliver (its retries and resumes spent)
     * is not checked, as a backup's object is: no verdict on it, and the others are still read.
     */
    private long[] checkArchive(Repository repo, List<Manifest> manifests, List<String> problems, List<String> unreadable) {
        try {
            repo.storage().checkConditionalWrites();
        } catch (org.pgstrata.storage.NoConditionalWritesException e) {
            problems.add("the store cannot be shown to refuse a second write of one key, which archiving relies on: " + e.getMessage());
        } catch (IOException e) {
            // The probe itself was refused (credentials that may only read, a failing store): no verdict on the store, nor on any backup.
            unreadable.add("whether the store refuses a second write of one key, which archiving relies on, was not checked: its probe "
                    + "failed (" + e.getMessage() + ")");
        }
        WalArchive archive = new WalArchive(repo.storage());
        long files = 0;
        long bytes = 0;
        int removed = 0;
        java.util.Set<String> damagedArchive = new java.util.HashSet<>();
        try {
            List<WalArchive.Entry> entries = archive.entries();
            if (entries.isEmpty()) {
                return new long[] {0, 0};
            }
            org.pgstrata.api.TestHooks.pauseAt("verify-archive-listed", progress);
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
                        } else if (!h.startsSegment(e.name())) {
                            problems.add("archived WAL " + e.name() + ": object " + e.key() + " holds the WAL that starts at "
                                    + h.pageAddressText() + ", not the start of " + e.name() + " (another segment's content under this name)");
                        }
                    }
                } catch (CorruptObjectException ex) {
                    if (removedSinceListed(repo, e)) {
                        // Verify takes no lock: an expire removed it after the listing. What is not there is no damage.
                        removed++;
                        continue;
                    }
                    problems.add("archived WAL " + e.name() + ": " + ex.getMessage());
                    damagedArchive.add(ex.getMessage()); // the timeline check below may read it again
                } catch (IOException ex) {
                    if (isVerdict(ex)) {
                        throw ex;
                    }
                    unreadable.add("archived WAL " + e.name() + " was not checked: the store failed to deliver it (" + ex.getMessage() + ")");
                    continue;
                }
                files++;
            }
            if (removed > 0) {
                progress.step(removed + " archived WAL file" + (removed == 1 ? " was" : "s were") + " removed after verify listed the archive"
                        + " (expire removes WAL): left out");
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
            if (!isVerdict(e)) {
                unreadable.add("the WAL archive was not checked: the store failed to deliver it (" + e.getMessage() + ")");
            } else if (!(e instanceof CorruptObjectException) || !damagedArchive.contains(e.getMessage())) {
                problems.add("cannot read the WAL archive: " + e.getMessage());
            }
        }
        return new long[] {files, bytes};
    }

    /**
     * Rereads every drill record of the backups verified, and of the damaged ones verify names: one that cannot be read, or whose content is not what its name
     * says, is a problem, as list shows it damaged and status judges it critical. The backup itself is
     * not rejected. A record whose backup is gone is a known leftover (a drill that finished after its
     * backup was removed, an interrupted delete), which the next expire removes: not read.
     */
    private static void checkDrillRecords(Repository repo, String backupId, List<Manifest> manifests, List<LogicalManifest> logical,
                                          Set<String> rejected, List<String> problems) {
        Set<String> ids = new java.util.HashSet<>(rejected); // the damaged backups among them

        manifests.forEach(m -> ids.add(m.id()));
        logical.forEach(m -> ids.add(m.id()));
        if (backupId != null) {
            ids.add(backupId);
        }
        try {
            for (var byBackup : DrillRecords.list(repo.storage()).entrySet()) {
                if (!ids.contains(byBackup.getKey())) {
                    continue;
                }
                for (DrillRecords.Entry e : byBackup.getValue()) {
                    org.pgstrata.api.DrillRecord r;
                    try {
                        r = DrillRecords.read(repo.storage(), e);
                    } catch (IOException | RuntimeException ex) {
                        problems.add("drill record " + e.key() + " (named " + e.result() + ") cannot be read: " + ex.getMessage()
                                + "; list and status show it as damaged");
                        continue;
                    }
                    if (!e.backupId().equals(r.backupId()) || !e.result().equals(r.result())) {
                        problems.add("drill record " + e.key() + " (named " + e.result() + ") holds a drill of " + r.backupId() + " that "
                                + r.result() + ", not what its name says");
                    }
                }
            }
        } catch (IOException e) {
            problems.add("cannot list the drill records: " + e.getMessage());
        }
    }

    /**
     * Checks every object of a logical backup; false when one that a restore reads is damaged. A key
     * index (of a table, or of the large objects) is read only by the next differential, which
     * refuses a damaged one: like a physical backup's block map, it is a problem, not a rejection.
     */
    private static boolean checkLogical(Repository repo, LogicalManifest m, Stats stats, List<String> problems) {
        java.util.Set<LogicalManifest.StoredFile> indexes = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (LogicalManifest.LogicalTable t : m.tables()) {
            if (t.keyIndex() != null) {
                indexes.add(t.keyIndex());
            }
        }
        if (m.largeObjects() != null && m.largeObjects().index() != null) {
            indexes.add(m.largeObjects().index());
        }
        boolean restores = true;
        for (LogicalManifest.StoredFile f : m.objects()) {
            stats.object(f.object().key() + "@" + f.object().start(), f.object().storedBytes());
            if (!check(repo, m.id(), f.name(), f.object(), f.size(), f.checksum(), problems)) {
                if (indexes.contains(f)) {
                    problems.set(problems.size() - 1, problems.get(problems.size() - 1)
                            + " (a key index, read by the next logical differential only: that one would be refused; restores are not affected)");
                } else {
                    restores = false;
                }
            }
        }
        return restores;
    }

    /** Rereads one object and checks its content against what the manifest records; false (and a problem) when it differs. */
    private static boolean check(Repository repo, String backup, String path, ObjectRef ref, long size, String checksum, List<String> problems) {
        Checksum digest = Checksum.like(checksum);
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
            return false;
        } catch (IOException e) {
            problems.add("backup " + backup + ", file " + path + ": cannot read object " + ref.key() + ": " + e.getMessage());
            return false;
        }
        if (n != size) {
            problems.add("backup " + backup + ", file " + path + ": object " + ref.key() + " holds " + n + " bytes, the manifest says " + size);
            return false;
        }
        String actual = digest.hex();
        if (!actual.equals(checksum)) {
            problems.add("backup " + backup + ", file " + path + ": content checksum " + actual + " differs from the manifest's " + checksum);
            return false;
        }
        return true;
    }
}
