package org.pgstrata.wal;

import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.s3.S3Location;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.RepoIdentity;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.postgres.WalSegmentHeader;
import org.pgstrata.postgres.ForeignTablespaces;
import org.pgstrata.postgres.TablespaceCreations;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.storage.Storage;

/**
 * restore_command: copies an archived WAL file to where recovery wants it, checked against its
 * checksum first, and a segment against the repository's cluster: PostgreSQL would stop at a
 * segment of another system itself, but only after taking it for the end of the archive.
 * Returns false when the archive does not have the file (the end of the archive, as far as
 * recovery is concerned).
 */
public final class WalGet {
    private WalGet() {
    }

    /** Beside the target while it is written; the same name for the same target, so a rerun for it writes over what a killed one left. */
    static final String TEMP_SUFFIX = ".pgstrata-get";
    /**
     * How old another target's temporary copy must be to count as left by a killed get: a live
     * get writes it in seconds, and holds it for the tablespace scan at most, so an hour is far
     * beyond any get still running.
     */
    static final java.time.Duration LEFTOVER_AGE = java.time.Duration.ofHours(1);

    /**
     * Removes temporary copies that killed gets left in {@code dir}: one for a target that recovery
     * never asked for again (a history file, a recovery given up) stayed in pg_wal for good. Best
     * effort: whatever fails here is no reason to fail the get.
     */
    private static void removeLeftovers(Path dir, Path ours) {
        long before = System.currentTimeMillis() - LEFTOVER_AGE.toMillis();
        try (java.nio.file.DirectoryStream<Path> found = Files.newDirectoryStream(dir, "*" + TEMP_SUFFIX)) {
            for (Path p : found) {
                try {
                    if (!p.equals(ours) && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            && Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toMillis() < before) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException ignored) {
                    // gone already, or not ours to remove
                }
            }
        } catch (IOException | java.nio.file.DirectoryIteratorException ignored) {
            // an unreadable directory: the write below says what is wrong with it
        }
    }

    public static boolean get(String repo, String name, Path target) {
        return get(repo, name, target, null, null);
    }

    /**
     * As {@link #get(String, String, Path)}, for a recovery that stops at {@code bound} (null: one
     * that replays all it finds): a CREATE TABLESPACE after that point is not replayed, so it is no
     * reason to refuse the segment ({@link ForeignTablespaces}). {@code replayTarget} (KEY=VALUE,
     * or null) is the recovery target the bound comes from: the bound holds only while the data
     * directory's postgresql.auto.conf sets that target and no other. PostgreSQL's way to recover
     * further, after a target's pause or shutdown, is to change or take out the target and start
     * again; restore_command, unchanged, would then carry a bound that recovery passes.
     */
    public static boolean get(String repo, String name, Path target, TablespaceCreations.Bound bound, String replayTarget) {
        return fetch(repo, name, target, bound, replayTarget) == Fetched.WRITTEN;
    }

    /** What {@link #fetch} did: wrote the file; found none; or found it damaged where the recovery that asks stops before it. */
    public enum Fetched { WRITTEN, NOT_ARCHIVED, DAMAGED_PAST_THE_BOUND }

    /**
     * As {@link #get(String, String, Path, TablespaceCreations.Bound, String)}, saying why nothing
     * was written. A damaged segment that lies wholly after the bound of a restore to a backup's
     * consistency point (recovery_target = immediate, still set) is no reason to stop that recovery:
     * PostgreSQL reads ahead past the segment switch that ends a backup and asks for the next
     * segment, which it never replays. It is answered as not archived, which ends the read-ahead
     * there ({@link Fetched#DAMAGED_PAST_THE_BOUND}). Answered before consistency, recovery fails
     * ("WAL ends before consistent recovery point") rather than promoting. The target is read from
     * postgresql.auto.conf alone, as for the tablespace bound: a server started with the target
     * overridden on its command line (-c recovery_target=) is not seen to have changed it.
     */
    public static Fetched fetch(String repo, String name, Path target, TablespaceCreations.Bound bound, String replayTarget) {
        try (RepoIdentity.Opened opened = RepoIdentity.open(repo)) {
            Storage storage = opened.storage();
            WalArchive archive = new WalArchive(storage);
            Optional<WalArchive.Entry> e = archive.find(name);
            Path dataDir = dataDirectoryOf(target);
            if (e.isEmpty()) {
                boolean standby = dataDir != null && Files.isRegularFile(dataDir.resolve("standby.signal"));
                if (opened.systemIdentifier() == null && !standby) {
                    // No repository there at all (a file system not mounted, a removed directory): not the end of an
                    // archive. Answered so, recovery to latest would end here and promote in the past. A standby never
                    // ends recovery on its own: it waits, and may stream from its primary meanwhile.
                    throw new PgstrataException(ErrorCode.NOT_FOUND, "no pgstrata repository at " + storage.describe()
                            + " (repo.json is missing), so whether it archived " + name + " cannot be told; recovery stops here",
                            "mount or restore the repository that restore_command names, then start the server again");
                }
                refuseExpired(storage, repo, name, dataDir);
                return Fetched.NOT_ARCHIVED;
            }
            byte[] content;
            try {
                content = archive.read(e.get());
            } catch (CorruptObjectException damaged) {
                if (pastAConsistencyBound(archive, name, dataDir, bound, replayTarget)) {
                    return Fetched.DAMAGED_PAST_THE_BOUND;
                }
                throw damaged;
            }
            java.util.concurrent.FutureTask<PgstrataException> guard = null;
            if (WalFileName.isSegment(name) || name.endsWith(".partial")) {
                WalSegmentHeader h = checkSystem(storage, name, e.get().key(), content);
                if (dataDir != null) {
                    TablespaceCreations.Bound holds = replayTarget == null || targetStillSet(dataDir, replayTarget) ? bound : null;
                    // The scan runs while the segment is written and synced, and is waited for before it takes its name
                    guard = new java.util.concurrent.FutureTask<>(() -> {
                        try {
                            ForeignTablespaces.check(name, content, h.segmentSize(), dataDir, holds, () -> following(archive, name, h),
                                    () -> preceding(archive, dataDir, name, h));
                            return null;
                        } catch (PgstrataException refused) {
                            return refused;
                        }
                    });
                    Thread scan = new Thread(guard, "pgstrata-tablespace-scan");
                    scan.setDaemon(true);
                    scan.start();
                }
            }
            Path dir = target.toAbsolutePath().getParent();
            Path temp = dir.resolve(target.getFileName() + TEMP_SUFFIX);
            removeLeftovers(dir, temp);
            try {
                try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
                    // One write(2) may take only part (a file system that fills takes what fits and
                    // says how much): write until all is taken, or the next write fails (ENOSPC).
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(content);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    ch.force(true);
                }
                PgstrataException refused = guard == null ? null : outcome(guard);
                if (refused != null) {
                    Files.deleteIfExists(temp);
                    throw refused;
                }
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ex) {
                try {
                    Files.deleteIfExists(temp); // no cut copy left in pg_wal
                } catch (IOException ignored) {
                    // the write's own failure is the one to report
                }
                PgstrataException denied = org.pgstrata.api.PermissionDenied.find(ex);
                if (denied != null) {
                    throw denied;
                }
                throw new PgstrataException(ErrorCode.IO, "cannot write " + name + " to " + target + ": " + ex.getMessage()
                        + "; nothing was left there", (org.pgstrata.storage.fs.FileStorage.noRoom(ex) ? "free space in " + dir
                                : "make " + dir + " writable (a file system mounted read-only, a failing disk)") + "; recovery asks for the file again", ex);
            }
            return Fetched.WRITTEN;
        } catch (WalArchive.DuplicateException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "archived WAL " + name + " is ambiguous: " + e.getMessage(),
                    "recovery cannot go past this point; find out which copy this cluster wrote, remove the other, and run "
                            + "'pgstrata verify --repo " + S3Location.describe(repo) + "'");
        } catch (CorruptObjectException e) {
            if (org.pgstrata.manifest.Repository.INFO_KEY.equals(e.key())) {
                // Not this segment's damage: every fetch fails alike, an earlier target too.
                throw new PgstrataException(ErrorCode.CORRUPT, "repository " + S3Location.describe(repo) + " is damaged, so whether it archived "
                        + name + " cannot be told; recovery stops here: " + e.getMessage(),
                        "restore repo.json from a copy, then start the server again");
            }
            throw new PgstrataException(ErrorCode.CORRUPT, "archived WAL " + name + " is damaged: " + e.getMessage(),
                    "recovery cannot go past this point; restore to an earlier target, or repair the archive from a copy");
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot fetch " + name + " from " + S3Location.describe(repo) + " to " + target + ": " + e.getMessage(),
                    "check that the repository is reachable", e);
        }
    }

    /**
     * Whether segment {@code name} begins after the segment where a restore to a backup's
     * consistency point stops ({@code bound}, from recovery_target = immediate, which the data
     * directory must still set: a copy whose target was taken out recovers further and needs it).
     */
    private static boolean pastAConsistencyBound(WalArchive archive, String name, Path dataDir, TablespaceCreations.Bound bound,
                                                 String replayTarget) {
        if (bound == null || dataDir == null || replayTarget == null || !replayTarget.startsWith("recovery_target=")
                || !WalFileName.isSegment(name) || !targetStillSet(dataDir, replayTarget)) {
            return false;
        }
        try {
            // The damaged object cannot say its size; the archive's newest intact segment does (only on this rare path).
            long segSize = new org.pgstrata.manifest.ArchiveTimelines(archive).segmentSize();
            return WalFileName.segmentNumber(name, segSize) > bound.lsn().segmentNumber(segSize);
        } catch (IOException | RuntimeException e) {
            return false; // unsure: the damage stops recovery, as for any other segment
        }
    }

    /**
     * A segment that {@code expire} removed is no end of the archive: answered so, recovery would
     * end there and promote in the past (a restore of a backup that expire removed while it ran, a
     * copy or standby that fell behind). Refused instead, so that recovery stops. Not when the data
     * directory's pg_wal has the file: recovery asks the archive first and then reads it from
     * there (a backup that holds its own WAL).
     */
    private static void refuseExpired(Storage storage, String repo, String name, Path dataDir) throws IOException {
        java.util.Optional<org.pgstrata.manifest.WalExpiry.Mark> mark = org.pgstrata.manifest.WalExpiry.read(storage);
        if (mark.isEmpty() || !mark.get().covers(name)) {
            return;
        }
        if (dataDir != null && Files.isRegularFile(dataDir.resolve("pg_wal").resolve(name))) {
            return;
        }
        String kept = mark.get().oldestKept().isEmpty() ? "" : " (where backup " + mark.get().oldestKept() + " starts)";
        String what = "archived WAL " + name + " " + org.pgstrata.manifest.WalExpiry.MARKER + ": the archive at " + S3Location.describe(repo)
                + " keeps WAL from " + mark.get().before() + kept + " on";
        if (dataDir != null && Files.isRegularFile(dataDir.resolve("standby.signal"))) {
            // A standby never ends recovery on its own: it waits, and may stream the segment from its primary instead.
            return;
        }
        throw new PgstrataException(ErrorCode.WAL_EXPIRED, what + ", and recovery cannot go past here",
                "restore " + (mark.get().oldestKept().isEmpty() ? "a backup" : "backup " + mark.get().oldestKept() + " or a newer one")
                        + " ('pgstrata list --repo " + S3Location.describe(repo) + "'); keep backups that restores still use with"
                        + " a larger --retain-full or --retain-days");
    }

    /** What the scan for foreign tablespaces found: null, or the refusal. */
    private static PgstrataException outcome(java.util.concurrent.FutureTask<PgstrataException> guard) {
        try {
            return guard.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new PgstrataException(ErrorCode.INTERNAL, "interrupted while reading the segment's tablespace records", null);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /**
     * The data directory that recovery fetches into: restore_command's %p is pg_wal/RECOVERYXLOG
     * (or a segment's name) under it. Null for a fetch by hand to anywhere else.
     */
    private static Path dataDirectoryOf(Path target) {
        Path wal = target.toAbsolutePath().getParent();
        if (wal == null || !wal.getFileName().toString().equals("pg_wal") || wal.getParent() == null) {
            return null;
        }
        return Files.isRegularFile(wal.getParent().resolve("PG_VERSION")) ? wal.getParent() : null;
    }

    /**
     * The archived segment after {@code name}, checked; null when the archive does not have it
     * (yet). On its own timeline, else on a timeline that branched off it in that segment: a
     * promotion there archives the new timeline's copy of the segment, which begins with this
     * timeline's WAL up to the switch, and recovery to the new timeline reads that copy (after a
     * failover the old timeline's own segment may never be archived).
     */
    private static byte[] following(WalArchive archive, String name, WalSegmentHeader h) {
        int tli = WalFileName.timeline(name);
        long next = WalFileName.segmentNumber(name.substring(0, 24), h.segmentSize()) + 1;
        // Unreadable: the record that runs into it cannot be replayed without it either, and recovery's own fetch of it fails.
        byte[] own = archived(archive, WalFileName.segment(tli, next, h.segmentSize()));
        if (own != null) {
            return own;
        }
        for (int branch : branchesIn(archive, tli, next, h.segmentSize())) {
            byte[] copy = archived(archive, WalFileName.segment(branch, next, h.segmentSize()));
            if (copy != null) {
                return copy;
            }
        }
        return null;
    }

    /** The timelines that the archive's history files say branched off timeline {@code tli} in segment {@code segno}. */
    private static List<Integer> branchesIn(WalArchive archive, int tli, long segno, long segSize) {
        List<Integer> found = new ArrayList<>();
        try {
            for (WalArchive.Entry e : archive.histories()) {
                int timeline = Integer.parseInt(e.name().substring(0, 8), 16);
                List<TimelineHistory.Entry> ancestors =
                        TimelineHistory.parse(timeline, new String(archive.read(e), StandardCharsets.US_ASCII)).ancestors();
                for (int i = 0; i < ancestors.size(); i++) {
                    long switchPoint = ancestors.get(i).switchPoint().value();
                    int child = i + 1 < ancestors.size() ? ancestors.get(i + 1).timeline() : timeline;
                    if (ancestors.get(i).timeline() == tli && switchPoint > segno * segSize && (switchPoint - 1) / segSize == segno
                            && !found.contains(child)) {
                        found.add(child);
                    }
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            // A history that cannot be read names no branch; recovery cannot follow it either
        }
        return found;
    }

    /** Archived file {@code name}, checked; null when the archive does not have it or it cannot be read. */
    private static byte[] archived(WalArchive archive, String name) {
        try {
            Optional<WalArchive.Entry> e = archive.find(name);
            return e.isEmpty() ? null : archive.read(e.get());
        } catch (IOException ex) {
            return null;
        }
    }

    /**
     * The segment before {@code name}: recovery's own copy in pg_wal (it keeps what it restored,
     * under its name) when that one starts where the name says, else the archive's, checked; null
     * when neither has it. On {@code name}'s timeline, else on the one its first page was written
     * on: a timeline's first segment is a copy of its parent's, page headers and all, up to the
     * switch, and the segment before it exists on the parent only. Asked for only when
     * {@code name} begins with the rest of a record that can be a creation.
     */
    private static byte[] preceding(WalArchive archive, Path dataDir, String name, WalSegmentHeader h) {
        long segno = WalFileName.segmentNumber(name.substring(0, 24), h.segmentSize());
        if (segno == 0) {
            return null;
        }
        for (int tli : new LinkedHashSet<>(List.of(WalFileName.timeline(name), h.timeline()))) {
            String before = WalFileName.segment(tli, segno - 1, h.segmentSize());
            try {
                byte[] local = Files.readAllBytes(dataDir.resolve("pg_wal").resolve(before));
                WalSegmentHeader lh = WalSegmentHeader.parse(local);
                if (local.length == h.segmentSize() && lh != null && lh.systemIdentifier() == h.systemIdentifier() && lh.startsSegment(before)) {
                    return local;
                }
            } catch (IOException ex) {
                // not there: the archive's
            }
            byte[] archived = archived(archive, before);
            if (archived != null) {
                return archived;
            }
        }
        return null;
    }

    private static final java.util.regex.Pattern TARGET_LINE =
            java.util.regex.Pattern.compile("\\s*(recovery_target(?:_lsn|_xid|_name|_time)?)(?:\\s*=\\s*|\\s+)(.*?)\\s*");

    /**
     * Whether postgresql.auto.conf of {@code dataDir} still sets recovery target {@code keyValue}
     * (as restore wrote it) and no other: the last line for each recovery_target* parameter counts.
     */
    static boolean targetStillSet(Path dataDir, String keyValue) {
        int eq = keyValue.indexOf('=');
        if (eq <= 0) {
            return false;
        }
        String key = keyValue.substring(0, eq);
        String expected = org.pgstrata.postgres.ConfValue.line(key, keyValue.substring(eq + 1)).trim();
        java.util.Map<String, String> last = new java.util.HashMap<>();
        try {
            for (String line : Files.readAllLines(dataDir.resolve("postgresql.auto.conf"))) {
                java.util.regex.Matcher m = TARGET_LINE.matcher(line);
                if (m.matches()) {
                    last.put(m.group(1), line.trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        for (var e : last.entrySet()) {
            boolean set = !e.getValue().matches("\\w+(\\s*=\\s*|\\s+)('')?");
            if (set != e.getKey().equals(key)) {
                return false;
            }
        }
        return expected.equals(last.get(key));
    }

    /** A segment's long page header names the cluster that wrote it: it must be the repository's. */
    private static WalSegmentHeader checkSystem(Storage storage, String name, String key, byte[] content) throws IOException {
        String sysid = RepoIdentity.systemIdentifier(storage);
        if (sysid == null) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "no pgstrata repository at " + storage.describe()
                    + " (repo.json is missing), so nothing says which cluster archived WAL " + name + " must come from",
                    "point restore_command at the repository the backup came from");
        }
        WalSegmentHeader h = WalSegmentHeader.parse(content);
        if (h == null) {
            throw new CorruptObjectException(key, "does not start with a WAL segment header");
        }
        if (!h.systemIdentifierText().equals(sysid)) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "archived WAL " + name + " belongs to the cluster with system identifier "
                    + h.systemIdentifierText() + ", but the repository " + storage.describe() + " serves " + sysid + "; it was not restored",
                    "recovery cannot go past this point; remove the foreign segment from the archive (pgstrata verify names them all)");
        }
        if (!h.startsSegment(name)) {
            throw new CorruptObjectException(key, "holds the WAL that starts at " + h.pageAddressText() + ", not the start of " + name
                    + " (another segment's content under this name)");
        }
        return h;
    }
}
