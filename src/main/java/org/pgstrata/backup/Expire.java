package org.pgstrata.backup;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.manifest.ArchiveTimelines;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.manifest.WalExpiry;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.storage.Storage;

/**
 * Retention: removes the backups that no rule keeps, then the archived WAL that no kept backup
 * can use.
 *
 * <p>The rules choose backups; the keep-set is those plus everything they need, transitively
 * (every backup a kept manifest names, see {@link Repository#references}), so a kept backup always
 * restores. Objects that a kept backup reads in a removed backup's directory (the newest full of a
 * reverse-delta repository reads older ones) need no rule: garbage collection keeps every object
 * a remaining manifest reads. Backups go one at a time, manifest first, each only once nothing
 * that remains names it, so the repository is valid at every moment; WAL goes last, oldest first,
 * so what an interruption leaves is still one continuous archive.
 */
public final class Expire {
    /** Oldest first: by stop time (what "newest" means to a user, also across timelines), then by stop LSN. */
    private static final Comparator<Manifest> OLDEST_FIRST = Comparator.comparing((Manifest m) -> Instant.parse(m.stopTime()))
            .thenComparing(m -> Lsn.parse(m.stopLsn())).thenComparing(Manifest::id);

    private final Clock clock;
    private final Progress progress;

    public Expire(Clock clock, Progress progress) {
        this.clock = clock;
        this.progress = progress;
    }

    public ExpireResult run(ExpireRequest req) {
        try (Repository repo = Repository.open(req.repo())) {
            repo.requireInfo();
            // A dry run changes nothing, so it takes no lock: it can be asked while a backup runs.
            try (Storage.RepositoryLock lock = req.dryRun() ? null : repo.lock("expire", clock)) {
                return expire(repo, req);
            } catch (IOException e) {
                throw new PgstrataException(ErrorCode.IO, "cannot release the lock of " + repo.describe() + ": " + e.getMessage(),
                        "remove the lock file by hand once no pgstrata command runs");
            }
        }
    }

    /**
     * The ids of the repository's readable physical backups, oldest first as expire orders them
     * (and as a restore without a target picks the newest): by stop time, except that no backup
     * counts as older than one in its own past, so that a wall clock set back between two backups
     * does not make the older one the newest. A damaged manifest is left out; without readable
     * timeline history files, each timeline is ordered on its own.
     */
    public static List<String> oldestFirst(Repository repo) {
        List<TimelineHistory> paths;
        try {
            paths = timelinePaths(repo);
        } catch (PgstrataException e) {
            paths = List.of();
        }
        return Plan.oldestFirst(repo.catalogue().backups(), paths).stream().map(Manifest::id).toList();
    }

    private ExpireResult expire(Repository repo, ExpireRequest req) {
        List<ExpireResult.Backup> removed = new ArrayList<>();
        List<ExpireResult.Backup> kept = new ArrayList<>();
        List<String> leftovers = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        long bytesFreed = 0;
        WalOutcome wal = WalOutcome.UNTOUCHED;
        // Read, and refused when a manifest is damaged, before anything is removed: the damaged one might be a differential of
        // a full the plan removes, or the newest full of its database.
        List<LogicalManifest> logical = null;
        if (req.retainLogical() != null) {
            Repository.Catalogue<LogicalManifest> catalogue = repo.logicalCatalogue();
            catalogue.requireNoDamage("plan the retention of logical backups",
                    "run 'pgstrata verify --repo " + repo.describe() + "', and delete the damaged backup first");
            logical = catalogue.backups();
        }

        if (req.physical()) {
            // Refuses before anything is removed when a manifest is damaged: nobody can tell what it needs.
            repo.referencedKeys();
            Plan plan = Plan.of(repo.backups(), req.retainFull(), req.retainDays(), Instant.now(clock), timelinePaths(repo), ownWalProblem(repo),
                    newestTransaction(repo));
            for (var u : plan.uncounted().entrySet()) {
                String w = "full backup " + u.getKey() + " is kept but not counted toward --retain-full: it does not restore from what the"
                        + " repository holds (" + u.getValue() + "); run 'pgstrata verify --repo " + repo.describe() + "'";
                warnings.add(w); // the command prints them
            }
            bytesFreed += plan.bytesFreed();
            for (Manifest m : plan.removals()) {
                String why = plan.why().get(m.id());
                removed.add(new ExpireResult.Backup(m.id(), m.type(), m.stopTime(), why));
                if (!req.dryRun()) {
                    progress.step("removing backup " + m.id() + " (" + m.type() + ", stopped " + m.stopTime() + "): " + why);
                    repo.removeBackup(m.id());
                }
            }
            for (Manifest m : plan.kept()) {
                kept.add(new ExpireResult.Backup(m.id(), m.type(), m.stopTime(), plan.why().get(m.id())));
            }
            if (!req.dryRun() && !plan.removals().isEmpty()) {
                // removeBackup collects only the removed backup's own directory. What else went unread on the way: a
                // reverse delta's old pages (in the newer full's directory), and objects a later-removed backup still read.
                repo.collectGarbage(plan.directories());
            }
            // What an interrupted earlier run (of expire or delete: manifest gone, objects not yet) or a killed backup left,
            // which no manifest reads: running expire again finishes the removal. Named in the result, a dry run's too, as the
            // backups are. We hold the lock: nobody writes them (a dry run holds none, and may name a backup still running).
            leftovers.addAll(repo.incompleteBackups());
            if (!req.dryRun()) {
                for (String left : leftovers) {
                    progress.step("removing what an interrupted earlier run left of backup " + left);
                    repo.removeIncomplete(left);
                }
                repo.removeTemporary();
                repo.removeArchiveLeftovers();
            }
            if (!plan.kept().isEmpty()) {
                Manifest oldestKept = plan.kept().stream().min(Comparator.comparing((Manifest m) -> Lsn.parse(m.startLsn()))).orElseThrow();
                wal = expireWal(repo, Lsn.parse(oldestKept.startLsn()), oldestKept.id(), req.dryRun());
            }
        }

        if (req.retainLogical() != null) {
            LogicalPlan plan = LogicalPlan.of(logical, req.retainLogical());
            for (LogicalManifest m : plan.removals()) {
                String why = plan.why().get(m.id());
                removed.add(new ExpireResult.Backup(m.id(), m.type(), m.stopTime(), why));
                bytesFreed += m.repositoryBytes();
                if (!req.dryRun()) {
                    progress.step("removing logical backup " + m.id() + " (" + m.type() + " of " + m.database() + "): " + why);
                    repo.removeLogical(m.id());
                }
            }
            for (LogicalManifest m : plan.kept()) {
                kept.add(new ExpireResult.Backup(m.id(), m.type(), m.stopTime(), plan.why().get(m.id())));
            }
            // What a killed logical backup (or an interrupted removal of one) left: its directory without a manifest, as the
            // physical ones above: named, a dry run's too, and removed under the lock.
            List<String> logicalLeft = repo.incompleteLogicalBackups();
            leftovers.addAll(logicalLeft);
            if (!req.dryRun()) {
                for (String left : logicalLeft) {
                    progress.step("removing what an interrupted earlier run left of logical backup " + left);
                    repo.removeIncompleteLogical(left);
                }
            }
        }
        if (!req.dryRun()) {
            int orphans = repo.removeOrphanDrillRecords();
            if (orphans > 0) {
                progress.step("removed the drill records of " + orphans + " backup(s) no longer in the repository");
            }
        }
        return new ExpireResult(req.dryRun(), removed, kept, bytesFreed, wal.segments(), wal.otherFiles(), wal.bytes(), wal.keptFrom(),
                leftovers, warnings);
    }

    // ---- physical backups

    /**
     * Which physical backups stay (each with the rule that keeps it) and in which order the others
     * go. A pure function of the catalogue, the rules and the time.
     *
     * @param kept     oldest first
     * @param removals in the order to remove them: never one that a backup still present names
     * @param why      for every backup, kept or removed, the reason
     * @param uncounted the kept fulls that --retain-full did not count, each with why it does not restore
     */
    record Plan(List<Manifest> kept, List<Manifest> removals, Map<String, String> why, long bytesFreed, Set<String> directories,
                Map<String, String> uncounted) {

        /**
         * @param ownWalProblem     why a backup does not reach its consistency point from what the repository holds (a segment of
         *                          its own WAL missing from the archive, or damaged), null when it does; asked of the newest fulls
         *                          only, until --retain-full of them are counted
         * @param newestTransaction the time of the newest archived commit or abort on a timeline's way, read back no further than
         *                          the given backup's start; null when none is found there
         */
        static Plan of(List<Manifest> backups, Integer retainFull, Integer retainDays, Instant now, List<TimelineHistory> paths,
                       java.util.function.Function<Manifest, String> ownWalProblem,
                       java.util.function.BiFunction<TimelineHistory, Manifest, Instant> newestTransaction) {
            List<Manifest> ordered = oldestFirst(backups, paths);
            Map<String, Manifest> byId = new HashMap<>();
            Map<String, Set<String>> refs = new HashMap<>();
            for (Manifest m : ordered) {
                byId.put(m.id(), m);
                refs.put(m.id(), new TreeSet<>(Repository.references(m)));
            }
            Map<String, String> keep = new LinkedHashMap<>();
            Map<String, String> why = new HashMap<>();
            Map<String, String> uncounted = new LinkedHashMap<>();
            if (ordered.isEmpty()) {
                return new Plan(List.of(), List.of(), why, 0, Set.of(), uncounted);
            }
            List<String> reasons = new ArrayList<>();

            if (retainFull != null) {
                // Only a full that restores counts: one whose own WAL (start to stop) the archive lacks, or holds damaged, restores
                // to no point, and counting it removed the older full that still restores. Newer than the oldest counted, it stays.
                List<Manifest> keptFulls = new ArrayList<>();
                List<Manifest> all = ordered.stream().filter(m -> m.type().equals(BackupType.FULL.label())).toList();
                for (int i = all.size() - 1; i >= 0 && keptFulls.size() < retainFull; i--) {
                    String problem = ownWalProblem.apply(all.get(i));
                    if (problem == null) {
                        keptFulls.add(0, all.get(i));
                    } else {
                        uncounted.put(all.get(i).id(), problem);
                    }
                }
                String newest = retainFull == 1 ? "the newest full" : "the " + retainFull + " newest fulls";
                if (keptFulls.isEmpty()) {
                    ordered.forEach(m -> keep.putIfAbsent(m.id(), uncounted.isEmpty() ? "there is no full backup to count from"
                            : "there is no full backup that restores to count from"));
                } else {
                    Manifest oldestKept = keptFulls.get(0);
                    for (Manifest m : ordered.subList(ordered.indexOf(oldestKept), ordered.size())) {
                        keep.putIfAbsent(m.id(), keptFulls.contains(m) ? (retainFull == 1 ? newest : "one of " + newest)
                                : uncounted.containsKey(m.id()) ? "newer than " + oldestKept.id() + ", the oldest kept full; not counted"
                                + " toward --retain-full: " + uncounted.get(m.id())
                                : "newer than " + oldestKept.id() + ", the oldest kept full");
                    }
                    reasons.add("older than " + newest);
                }
            }

            if (retainDays != null) {
                Instant cutoff = now.minus(Duration.ofDays(retainDays));
                String window = retainDays == 1 ? "the last day" : "the last " + retainDays + " days";
                Manifest anchor = null;
                for (Manifest m : ordered) {
                    if (Instant.parse(m.stopTime()).isBefore(cutoff)) {
                        anchor = m;
                    } else {
                        keep.putIfAbsent(m.id(), "stopped within " + window);
                    }
                }
                if (anchor != null) {
                    // From it, the WAL reaches every moment of the window.
                    keep.putIfAbsent(anchor.id(), "the newest backup before " + window + " (since " + cutoff + "), from which they restore");
                    reasons.add("stopped before " + window + " began (" + cutoff + "), and older than " + anchor.id());
                }
                // The window's moments on another timeline (one a point-in-time restore began) restore only from a backup on its
                // way: the newest before the window on each timeline's way stays too.
                for (TimelineHistory path : paths) {
                    Manifest onWay = null;
                    for (Manifest m : ordered) {
                        if (onPath(path, m) && Instant.parse(m.stopTime()).isBefore(cutoff)) {
                            onWay = m;
                        }
                    }
                    // A timeline whose newest transaction came before the window (one left long ago) has no moment in it: kept
                    // for it, its backup, and the WAL from there on, would stay for ever. Unknown (none found): kept.
                    Instant last = onWay == null || keep.containsKey(onWay.id()) ? null : newestTransaction.apply(path, onWay);
                    if (onWay != null && (last == null || !last.isBefore(cutoff))) {
                        keep.putIfAbsent(onWay.id(), "the newest backup before " + window + " on the way to timeline " + path.timeline()
                                + ", from which its moments restore");
                    }
                }
            }

            keep.putIfAbsent(ordered.get(ordered.size() - 1).id(), "the newest backup");
            // And the newest from which the newest timeline restores, should the newest backup lie on a timeline it left.
            paths.stream().max(Comparator.comparingInt(TimelineHistory::timeline)).ifPresent(latest -> {
                Manifest onWay = null;
                for (Manifest m : ordered) {
                    if (onPath(latest, m)) {
                        onWay = m;
                    }
                }
                if (onWay != null) {
                    keep.putIfAbsent(onWay.id(), "the newest backup on the way to timeline " + latest.timeline());
                }
            });

            // Everything a kept backup needs stays too, however old.
            Deque<String> todo = new ArrayDeque<>(keep.keySet());
            while (!todo.isEmpty()) {
                String id = todo.pop();
                for (String ref : refs.get(id)) {
                    if (byId.containsKey(ref) && !keep.containsKey(ref)) {
                        keep.put(ref, "needed to restore " + id);
                        todo.push(ref);
                    }
                }
            }

            List<Manifest> kept = ordered.stream().filter(m -> keep.containsKey(m.id())).toList();
            kept.forEach(m -> why.put(m.id(), keep.get(m.id())));
            List<Manifest> removals = removalOrder(ordered.stream().filter(m -> !keep.containsKey(m.id())).toList(), refs);
            removals.forEach(m -> why.put(m.id(), String.join("; ", reasons)));
            return new Plan(kept, removals, why, freed(kept, removals), directories(removals), uncounted);
        }

        /**
         * {@link #OLDEST_FIRST}, except that a backup never counts as older than one that lies in its
         * past (on its way, at an earlier stop LSN): a wall clock set back between two backups gave
         * the newer one the earlier stop time, and the newest full, the one a restore picks, went.
         */
        static List<Manifest> oldestFirst(List<Manifest> backups, List<TimelineHistory> paths) {
            Map<Integer, TimelineHistory> pathTo = new HashMap<>();
            paths.forEach(p -> pathTo.put(p.timeline(), p));
            Map<String, Lsn> stopLsn = new HashMap<>();
            Map<String, Instant> stopTime = new HashMap<>();
            for (Manifest m : backups) { // parsed once: the loop below meets each pair of a repository's backups
                stopLsn.put(m.id(), Lsn.parse(m.stopLsn()));
                stopTime.put(m.id(), Instant.parse(m.stopTime()));
            }
            Map<String, Instant> newestInPast = new HashMap<>();
            for (Manifest m : backups) {
                Instant t = stopTime.get(m.id());
                TimelineHistory path = pathTo.get(m.timeline());
                for (Manifest earlier : backups) {
                    boolean inPast = !stopLsn.get(m.id()).isBefore(stopLsn.get(earlier.id()))
                            && (earlier.timeline() == m.timeline() || path != null && onPath(path, earlier));
                    if (inPast && stopTime.get(earlier.id()).isAfter(t)) {
                        t = stopTime.get(earlier.id());
                    }
                }
                newestInPast.put(m.id(), t);
            }
            return backups.stream().sorted(Comparator.comparing((Manifest m) -> newestInPast.get(m.id()))
                    .thenComparing(m -> stopLsn.get(m.id())).thenComparing(OLDEST_FIRST)).toList();
        }

        /** Whether a restore along {@code path} can start from {@code m}: its timeline is on the way, and it ended before that timeline did. */
        private static boolean onPath(TimelineHistory path, Manifest m) {
            return path.descendsFrom(m.timeline()) && path.timelineAt(Lsn.parse(m.stopLsn())) == m.timeline();
        }

        /**
         * Newest first, except that a backup waits while another one still to be removed names
         * it (a reverse delta names the newer backup it is built on).
         */
        private static List<Manifest> removalOrder(List<Manifest> oldestFirst, Map<String, Set<String>> refs) {
            List<Manifest> remaining = new ArrayList<>(oldestFirst);
            List<Manifest> order = new ArrayList<>();
            while (!remaining.isEmpty()) {
                Manifest next = null;
                for (int i = remaining.size() - 1; i >= 0 && next == null; i--) {
                    Manifest m = remaining.get(i);
                    if (remaining.stream().noneMatch(o -> o != m && refs.get(o.id()).contains(m.id()))) {
                        next = m;
                    }
                }
                if (next == null) {
                    // References only point along a chain, so this cannot happen; should they loop, every member goes anyway.
                    next = remaining.get(remaining.size() - 1);
                }
                remaining.remove(next);
                order.add(next);
            }
            return order;
        }

        /** The stored bytes that the removed backups read and no kept one does: what garbage collection deletes. */
        private static long freed(List<Manifest> kept, List<Manifest> removals) {
            Set<String> keptKeys = new HashSet<>();
            kept.forEach(m -> objects(m).forEach(o -> keptKeys.add(o.key())));
            Map<String, Long> slices = new HashMap<>();
            for (Manifest m : removals) {
                objects(m).filter(o -> !keptKeys.contains(o.key())).forEach(o -> slices.put(o.key() + "@" + o.start(), o.storedBytes()));
            }
            return slices.values().stream().mapToLong(Long::longValue).sum();
        }

        /** The directories whose objects the removed backups read: theirs, and those of the backups they share objects with. */
        private static Set<String> directories(List<Manifest> removals) {
            Set<String> dirs = new LinkedHashSet<>();
            for (Manifest m : removals) {
                dirs.add(m.id());
                objects(m).forEach(o -> dirs.add(o.backup()));
            }
            return dirs;
        }

        private static Stream<ObjectRef> objects(Manifest m) {
            return Stream.concat(Stream.concat(m.files().stream().map(f -> f.object()).filter(o -> o != null), m.wal().stream().map(w -> w.object())),
                    Stream.ofNullable(m.blockMap()));
        }
    }

    /**
     * Why a backup does not reach its consistency point from what the repository holds, as restore requires: a segment of its own
     * WAL (start to stop) missing from the archive (by the archive's listing), or damaged (the few segments read, checksums checked);
     * null when it does, or when it holds its own WAL (stored with the backup, as restore reads it; verify checks it).
     */
    private static java.util.function.Function<Manifest, String> ownWalProblem(Repository repo) {
        WalArchive archive = new WalArchive(repo.storage());
        long[] segmentSize = {0};
        return m -> {
            try {
                if (m.walInArchive() && segmentSize[0] == 0) {
                    segmentSize[0] = new ArchiveTimelines(archive).segmentSize();
                }
                return org.pgstrata.manifest.OwnWal.check(archive, m, segmentSize[0]).map(p -> "segment " + p.segment() + " of its own WAL, "
                        + m.startLsn() + " to " + m.stopLsn() + ", " + p.describe()).orElse(null);
            } catch (IOException e) {
                throw repo.io("read the WAL archive", e);
            }
        };
    }

    /** {@link ArchiveTimelines#newestTransactionTime} on a timeline's way, back to the start of backup {@code from} at most. */
    private static java.util.function.BiFunction<TimelineHistory, Manifest, Instant> newestTransaction(Repository repo) {
        WalArchive archive = new WalArchive(repo.storage());
        ArchiveTimelines[] tl = {null};
        return (path, from) -> {
            try {
                if (tl[0] == null) {
                    tl[0] = new ArchiveTimelines(archive);
                }
                return tl[0].newestTransactionTime(path, Lsn.parse(from.startLsn()).segmentNumber(tl[0].segmentSize()));
            } catch (org.pgstrata.storage.CorruptObjectException e) {
                return null; // cannot tell: the backup stays
            } catch (IOException e) {
                throw repo.io("read the WAL archive", e);
            }
        };
    }

    /** The way to each timeline the archive knows, read from its history files; none without an archive. */
    private static List<TimelineHistory> timelinePaths(Repository repo) {
        WalArchive archive = new WalArchive(repo.storage());
        try {
            if (archive.entries().isEmpty()) {
                return List.of();
            }
            ArchiveTimelines tl = new ArchiveTimelines(archive);
            List<TimelineHistory> paths = new ArrayList<>();
            for (int tli : tl.timelines()) {
                paths.add(tl.path(tli));
            }
            return paths;
        } catch (org.pgstrata.storage.CorruptObjectException e) {
            // Without the history, nobody can tell which backup a timeline restores from.
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot tell which backups the archived timelines need: " + e.getMessage()
                    + "; nothing was removed", "run 'pgstrata verify --repo " + repo.describe() + "'");
        } catch (IOException e) {
            throw repo.io("read the timeline history files of the WAL archive", e);
        }
    }

    // ---- WAL

    private record WalOutcome(int segments, int otherFiles, long bytes, String keptFrom) {
        static final WalOutcome UNTOUCHED = new WalOutcome(0, 0, 0, null);
    }

    /**
     * Removes the archived segments (and .partial and .backup files) that lie wholly before
     * {@code from}, on any timeline: no kept backup starts before it, so no recovery reads them.
     * Timeline history files stay: they are small, and a restore needs every one on its way.
     */
    private WalOutcome expireWal(Repository repo, Lsn from, String oldestKept, boolean dryRun) {
        WalArchive archive = new WalArchive(repo.storage());
        try {
            List<WalArchive.Entry> entries = archive.entries();
            if (entries.isEmpty()) {
                return WalOutcome.UNTOUCHED;
            }
            long segmentSize = new ArchiveTimelines(archive).segmentSize();
            long firstKept = from.segmentNumber(segmentSize);
            List<WalArchive.Entry> old = entries.stream()
                    .filter(e -> segmentOf(e.name()) != null && WalFileName.segmentNumber(segmentOf(e.name()), segmentSize) < firstKept)
                    .sorted(Comparator.comparing((WalArchive.Entry e) -> WalFileName.segmentNumber(segmentOf(e.name()), segmentSize))
                            .thenComparing(WalArchive.Entry::name))
                    .toList();
            int segments = 0;
            long bytes = 0;
            if (!old.isEmpty() && !dryRun) {
                // First the mark, then the WAL: wal get then tells a segment removed here from one not archived yet, so that a
                // recovery still reading from a backup removed here stops instead of ending, and promoting, in the past.
                WalExpiry.advance(repo.storage(), from, segmentSize, oldestKept);
                progress.step("removing " + old.size() + " archived WAL files before " + from + ", where the oldest kept backup starts");
            }
            for (int i = 0; i < old.size(); i++) {
                WalArchive.Entry e = old.get(i);
                bytes += archive.storedBytes(e);
                if (!e.name().endsWith(".backup")) {
                    segments++;
                }
                if (!dryRun) {
                    // Oldest first: an interruption leaves the archive continuous from wherever it stopped.
                    repo.removeArchived(archive, e);
                    progress.advance(i + 1, old.size());
                }
            }
            return new WalOutcome(segments, old.size() - segments, bytes, from.toString());
        } catch (IOException e) {
            throw repo.io("expire the WAL archive", e);
        }
    }

    /** The segment an archived file belongs to (a segment, a .partial or a .backup file); null for a history file. */
    private static String segmentOf(String name) {
        if (name.length() < 24 || !WalFileName.isSegment(name.substring(0, 24))) {
            return null;
        }
        return name.substring(0, 24);
    }

    // ---- logical backups

    /** Per database: the newest logical fulls stay with their differentials; older ones go with theirs, differentials first. */
    record LogicalPlan(List<LogicalManifest> kept, List<LogicalManifest> removals, Map<String, String> why) {

        static LogicalPlan of(List<LogicalManifest> oldestFirst, int retain) {
            String newest = retain == 1 ? "the newest logical full" : "the " + retain + " newest logical fulls";
            Map<String, List<LogicalManifest>> fullsByDatabase = new LinkedHashMap<>();
            for (LogicalManifest m : oldestFirst) {
                if (!m.differential()) {
                    fullsByDatabase.computeIfAbsent(m.database(), d -> new ArrayList<>()).add(m);
                }
            }
            Map<String, String> why = new HashMap<>();
            Set<String> goingFulls = new HashSet<>();
            fullsByDatabase.forEach((db, fulls) -> {
                for (int i = 0; i < fulls.size(); i++) {
                    boolean goes = i < fulls.size() - retain;
                    if (goes) {
                        goingFulls.add(fulls.get(i).id());
                    }
                    why.put(fulls.get(i).id(), goes ? "older than " + newest + " of database " + db
                            : (retain == 1 ? "" : "one of ") + newest + " of database " + db);
                }
            });
            List<LogicalManifest> newestFirst = new ArrayList<>(oldestFirst);
            java.util.Collections.reverse(newestFirst);
            List<LogicalManifest> removals = new ArrayList<>();
            for (LogicalManifest full : newestFirst) {
                if (!goingFulls.contains(full.id())) {
                    continue;
                }
                for (LogicalManifest m : newestFirst) {
                    if (m.differential() && full.id().equals(m.reference())) {
                        why.put(m.id(), "built on " + full.id() + ", which goes");
                        removals.add(m);
                    }
                }
                removals.add(full);
            }
            List<LogicalManifest> kept = new ArrayList<>();
            for (LogicalManifest m : oldestFirst) {
                if (!removals.contains(m)) {
                    why.putIfAbsent(m.id(), why.containsKey(m.reference()) ? "built on " + m.reference() + ", which stays"
                            : "built on " + m.reference() + ", which is missing: left alone");
                    kept.add(m);
                }
            }
            return new LogicalPlan(kept, removals, why);
        }
    }
}
