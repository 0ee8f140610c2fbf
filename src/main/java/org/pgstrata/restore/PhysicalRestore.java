package org.pgstrata.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Parallel;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.DatabaseLocales;
import org.pgstrata.db.Db;
import org.pgstrata.db.Libpq;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.db.StallWatch;
import org.pgstrata.manifest.Chain;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.ArchiveTimelines;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.manifest.DirectoryEntry;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.InPlace;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.Rebuild;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.AutoConf;
import org.pgstrata.postgres.ConfValue;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.StoreReadException;

/**
 * Rebuilds a data directory from a backup: every object's stored checksum and every file's
 * content checksum are checked; the WAL the backup needs goes into pg_wal with backup_label, so
 * the server reaches consistency by crash recovery from the backup's checkpoint; archiving is
 * switched off in the copy. The target must be empty; if anything fails, what was written is
 * removed again, so the target is left as it was found.
 */
public final class PhysicalRestore {
    private final Progress progress;
    private final Map<String, String> env;

    public PhysicalRestore(Progress progress, Map<String, String> env) {
        this.progress = progress;
        this.env = env;
    }

    /**
     * Reads, and so checks, the archived WAL from backup {@code m}'s start to its consistency
     * point before anything is written: PostgreSQL asks for it only once the files are in place,
     * and a damaged or missing segment would stop recovery there, after the whole restore. One or
     * two segments for most backups. A backup that holds its own WAL has it checked with its
     * other objects.
     */
    private void checkConsistencyWal(Repository repo, Manifest m) {
        if (!m.walInArchive()) {
            return;
        }
        java.util.Optional<org.pgstrata.manifest.OwnWal.Problem> problem;
        try {
            WalArchive archive = new WalArchive(repo.storage());
            problem = org.pgstrata.manifest.OwnWal.check(archive, m, new ArchiveTimelines(archive).segmentSize());
        } catch (IOException e) {
            throw repo.io("read the archived WAL of backup " + m.id(), e);
        }
        if (problem.isEmpty()) {
            return;
        }
        org.pgstrata.manifest.OwnWal.Problem p = problem.get();
        String message = "WAL segment " + p.segment() + ", which backup " + m.id() + " needs to reach its consistency point, " + p.describe()
                + (p.fault() == org.pgstrata.manifest.OwnWal.Fault.MISSING ? " of " + repo.describe() : "") + "; nothing was written";
        throw switch (p.fault()) {
            case EXPIRED -> new PgstrataException(ErrorCode.WAL_EXPIRED, message, "restore a newer backup ('pgstrata list --repo " + repo.describe() + "')");
            case MISSING -> new PgstrataException(ErrorCode.WAL_MISSING, message, "put the segment back (pgstrata wal push), or restore another backup");
            case DAMAGED -> new PgstrataException(ErrorCode.CORRUPT, message,
                    "run 'pgstrata verify --repo " + repo.describe() + "', and restore another backup");
        };
    }

    /**
     * The backup a restore to {@code target} (with {@code backupId}, or null for the choice the
     * target makes) starts from, as {@link #run} would choose it; reads manifests, writes nothing.
     */
    public static Manifest chosenBackup(Repository repo, RecoveryTarget target, String backupId) {
        return RecoveryPlan.make(repo, target, backupId).backup();
    }

    public RestoreResult run(RestoreRequest req) {
        Path target = req.target().toAbsolutePath().normalize();
        if (req.start() && (target.toString().indexOf('\n') >= 0 || target.toString().indexOf('\r') >= 0)) {
            // postmaster.pid holds one value a line, the data directory among them: PostgreSQL then writes the lines after it
            // out of place (the socket directory's is lost), and neither its port nor its state can be read back.
            throw new PgstrataException(ErrorCode.USAGE, "cannot start a server in " + target.toString().replace('\n', '?').replace('\r', '?')
                    + ": its name holds a line break, which PostgreSQL's postmaster.pid cannot hold; nothing was written",
                    "restore into a directory whose name has no line break" + (req.sandbox() != null ? " (--scratch-dir)" : ""));
        }
        Repository.refuseInsideRepository(req.repo(), target);
        if (req.configDir() != null) {
            Repository.refuseInsideRepository(req.repo(), req.configDir());
        }
        try (Repository repo = Repository.open(req.repo())) {
            repo.requireInfo();
            RecoveryPlan plan = RecoveryPlan.make(repo, req.recoveryTarget(), req.backupId()).withWalArguments(req.walArguments());
            Manifest m = plan.backup();
            Chain chain = Chain.load(repo, m, plan.likelyChain());
            checkConsistencyWal(repo, m);
            if (chain.members().size() > 1) {
                progress.step("backup " + m.id() + " is built on " + String.join(", ", chain.members().subList(1, chain.members().size()))
                        + "; all present and consistent");
            }
            org.pgstrata.api.TestHooks.pauseAt("restore-checked", progress);
            // A delta restore into an empty or absent directory is a full restore.
            Delta delta = req.delta() && !emptyOrAbsent(target) ? new Delta() : null;
            if (delta != null) {
                DeltaTarget.check(target, m);
            } else if (!req.delta() && Files.isRegularFile(target.resolve(DeltaTarget.CONTROL_ASIDE))
                    && !Files.exists(target.resolve(DeltaTarget.CONTROL), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot restore backup " + m.id() + " into " + target
                        + ": it holds a restore that did not finish (its pg_control is set aside as " + DeltaTarget.CONTROL_ASIDE
                        + "); nothing was changed", "add --delta to finish it there (only what differs is written), or empty it first");
            } else if (!req.delta() && Files.isRegularFile(target.resolve("PG_VERSION"))) {
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot restore backup " + m.id() + " into " + target
                        + ": it is a PostgreSQL data directory", "to bring it back to this backup in place, stop its server and add --delta;"
                        + " otherwise choose an empty or new directory");
            } else {
                LocalCluster.requireEmptyOrAbsent(target, "restore backup " + m.id() + " there");
            }
            List<Tablespaces.Mapped> mapped = Tablespaces.resolve(m, req.tablespaceMap(), target);
            if (delta != null && !mapped.isEmpty()) {
                throw new PgstrataException(ErrorCode.USAGE, "--tablespace-map applies to a restore into an empty directory: a delta restore "
                        + "into " + target + " writes through the tablespace links that directory has; nothing was changed",
                        "leave out --tablespace-map (or move a tablespace with ALTER ... SET TABLESPACE once the cluster runs)");
            }
            mapped.forEach(t -> Repository.refuseInsideRepository(req.repo(), t.dir));
            Tablespaces.requireEmpty(mapped);
            Path configDir = req.configDir() == null ? null : req.configDir().toAbsolutePath().normalize();
            if (delta != null && req.start() && req.configDir() == null && ExternalConfigRestore.originalsPresent(m)) {
                throw new PgstrataException(ErrorCode.USAGE, "--start cannot start " + target + " in place: its postgresql.conf is outside the"
                        + " data directory, and a delta restore leaves those files where they are; nothing was changed",
                        "run the restore --delta without --start, then start the cluster as usual (pg_ctlcluster MAJOR NAME start)");
            }
            if (configDir != null) {
                if (m.externalConfigOrEmpty().isEmpty()) {
                    progress.warn("backup " + m.id() + " holds no configuration files from outside its data directory: --config-dir "
                            + configDir + " stays unused");
                    configDir = null;
                } else {
                    if (req.start()) {
                        throw new PgstrataException(ErrorCode.USAGE, "--start cannot start a server whose postgresql.conf is in --config-dir "
                                + configDir, "restore without --start, then start it with pg_ctl -D " + configDir + " (or pg_ctlcluster)");
                    }
                    for (Path p : ExternalConfigRestore.destinations(m, configDir)) {
                        if (Files.exists(p)) {
                            throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot restore the configuration files of backup " + m.id()
                                    + " into " + configDir + ": " + p + " exists; nothing was written", "name a new --config-dir, or move that file away");
                        }
                    }
                }
            }
            progress.step(plan.reason());
            if (plan.warning() != null) {
                progress.warn(plan.warning());
            }
            boolean existed = Files.exists(target);
            // An empty directory given gets its mode back if the restore fails (the data's mode is set on it before the files)
            java.util.Set<java.nio.file.attribute.PosixFilePermission> given = existed ? givenMode(target) : null;
            long t0 = System.nanoTime();
            long bytes;
            // A delta restore's tablespace links before it removes those the backup lacks: in place, a location that
            // pg_tblspc/OID linked to is the cluster's own, and its replayed CREATE TABLESPACE may take it again
            Map<Long, Path> priorLinks = delta == null ? Map.of() : tablespaceLinks(target);
            boolean writing = false; // from here a delta restore has changed the target even with its pg_control in place
            try {
                if (delta != null) {
                    Map<Path, Path> fileLinks = DeltaTarget.fileLinks(target, m);
                    delta.removed = DeltaTarget.prepare(target, m);
                    fileLinks.forEach((link, to) -> progress.warn(link + " was a symbolic link to " + to + "; the delta restore replaced it"
                            + " with the backup's file (" + to + " was left as it is, and the restored server reads the backup's copy);"
                            + " to have it read " + to + " again, stop the server and run: ln -sf " + org.pgstrata.api.Self.quote(to.toString())
                            + " " + org.pgstrata.api.Self.quote(link.toString())));
                }
                Tablespaces.link(mapped, target);
                describeTablespaces(m, mapped, delta != null);
                writing = true;
                bytes = writeFiles(repo, chain, target, req.jobs(), req.port(), plan, delta);
                refuseForeignTablespaces(m, target, plan, priorLinks, delta != null);
                if (req.sandbox() != null) {
                    sandbox(target, req.sandbox());
                }
                if (delta != null && configDir == null && ExternalConfigRestore.originalsPresent(m)) {
                    // In place, the cluster keeps reading its own configuration files (pg_ctlcluster names them).
                    ExternalConfigRestore.leaveInPlace(m, target, progress);
                } else {
                    ExternalConfigRestore.place(m, target, configDir, progress);
                }
            } catch (OutOfMemoryError e) {
                // The buffers that filled the heap are garbage now: enough to remove what was written.
                if (delta == null) {
                    Tablespaces.cleanUp(mapped);
                    cleanUp(target, existed, given);
                }
                PgstrataException p = PgstrataException.outOfMemory(e);
                throw new PgstrataException(p.code(), p.getMessage() + (delta == null ? "; nothing was left in " + target
                        : "; " + target + " is half restored: run the restore again with a larger heap"), p.hint(), e);
            } catch (IOException | RuntimeException e) {
                // an object missing, or on S3 one that vanished mid-read (a StoreReadException): perhaps the backup is gone
                // or a reverse backup turned a member into a reverse delta and removed the objects it no longer reads
                boolean missing = e instanceof CorruptObjectException || StoreReadException.isIn(e);
                Repository.Meanwhile changed = missing ? changedMeanwhile(repo, chain) : null;
                if (delta != null) {
                    // Setting pg_control aside is what a delta restore changes first: when that failed (a read-only file system),
                    // the directory is as it was, and saying it is half restored would send its owner to a restore it does not need
                    boolean untouched = !writing && Files.isRegularFile(target.resolve(DeltaTarget.CONTROL), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            && !Files.exists(target.resolve(DeltaTarget.CONTROL_ASIDE), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    String state = untouched ? "; nothing in " + target + " was changed"
                            : "; " + target + " is half restored and will not start (its pg_control is set aside as " + DeltaTarget.CONTROL_ASIDE + ")";
                    throw changed != null ? changedWhileRestoring(changed, m, repo, state) : deltaFailed(e, target, m, repo, state);
                }
                Tablespaces.cleanUp(mapped);
                cleanUp(target, existed, given);
                if (changed != null) {
                    throw changedWhileRestoring(changed, m, repo, "; nothing was left in " + target);
                }
                if (e instanceof CorruptObjectException c) {
                    throw new PgstrataException(ErrorCode.CORRUPT, "backup " + m.id() + " is damaged: " + c.getMessage()
                            + "; nothing was left in " + target,
                            "run 'pgstrata verify --repo " + repo.describe() + "' and restore another backup");
                }
                if (e instanceof PgstrataException p) {
                    throw p;
                }
                throw new PgstrataException(ErrorCode.IO, "restore into " + target + " failed: " + e.getMessage() + "; nothing was left there",
                        StoreReadException.isIn(e) ? "the repository's store did not deliver the backup (it is not judged damaged): check the store"
                                + " and the network to it, then run the restore again" : "check free space and permissions, then run the restore again", e);
            }
            double filesSeconds = (System.nanoTime() - t0) / 1e9;
            progress.step("restored backup " + m.id() + " into " + target + " (" + m.files().size() + " files) in "
                    + String.format("%.1f", filesSeconds) + " s" + (mapped.isEmpty() ? "" : ", " + mapped.size() + " tablespace"
                    + (mapped.size() == 1 ? "" : "s") + " into " + String.join(", ", mapped.stream().map(t -> t.dir.toString()).toList())));
            RestoreResult.Delta deltaResult = !req.delta() ? null : delta == null
                    ? new RestoreResult.Delta(bytes, m.files().size() + m.wal().size(), 0, 0, 0)
                    : new RestoreResult.Delta(delta.written.get(), delta.files.get(), delta.unchanged.get(), delta.removed, delta.reused.get());
            if (delta != null) {
                progress.step("delta: " + deltaResult.bytesWritten() + " of " + bytes + " bytes written; " + deltaResult.filesWritten()
                        + " files written, " + deltaResult.filesUnchanged() + " unchanged, " + deltaResult.filesRemoved() + " removed; "
                        + deltaResult.bytesReused() + " bytes of changed files taken from the local copy, not decompressed");
            }
            if (!req.start()) {
                return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, null, req.port(), plan.reason(), null, null,
                        "stopped", null, deltaResult);
            }
            PgBinaries bin = PgBinaries.forMajor(req.pgBin(), m.pgMajor(), env);
            LocalCluster cluster = new LocalCluster(target, bin);
            progress.step("starting the restored server: recovery to " + req.recoveryTarget().describe());
            Duration stall = req.startStall() == null ? LocalCluster.DEFAULT_STALL : req.startStall();
            Stop stop = startAndWait(cluster, req.recoveryTarget(), plan, stall, req.sandbox() != null);
            if (req.recoveryTarget().type() == RecoveryTarget.Type.LATEST && plan.targetLsn() != null && stop.lsn() != null
                    && org.pgstrata.postgres.Lsn.parse(stop.lsn()).isBefore(plan.targetLsn())) {
                // Never report a short recovery as the latest point.
                cluster.stop();
                throw new PgstrataException(ErrorCode.WAL_MISSING, "recovery stopped at " + stop.lsn() + ", before the end of the archive ("
                        + plan.targetLsn() + "); the server in " + target + " was stopped", "run 'pgstrata verify' to see what is missing");
            }
            if (stop.port() != null && cluster.postmasterAlive()) {
                refuseLackedLocales(cluster, stop);
            }
            double ready = (System.nanoTime() - t0) / 1e9;
            progress.step("recovery stopped at " + stop.where() + (stop.time() == null || stop.where().contains(stop.time()) ? "" : " (last transaction " + stop.time() + ")")
                    + "; the server is " + stop.state() + (stop.port() == null ? "" : " on port " + stop.port()));
            return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, ready, stop.port(), plan.reason(), stop.lsn(),
                    stop.time(), stop.state(), stop.where(), deltaResult);
        }
    }

    /** What a delta restore has done so far, counted from any number of threads. */
    private static final class Delta {
        final AtomicLong written = new AtomicLong();
        final AtomicLong files = new AtomicLong();
        final AtomicLong unchanged = new AtomicLong();
        /** Bytes of content taken from the local files instead of being decompressed (their frames' hashes matched). */
        final AtomicLong reused = new AtomicLong();
        long removed;
        /** The block map of the backup restored, or null: then every frame of a differing file is decompressed. */
        org.pgstrata.manifest.BlockMap map;
    }

    private static boolean emptyOrAbsent(Path dir) {
        if (!Files.exists(dir)) {
            return true;
        }
        try {
            return FileTrees.isEmpty(dir);
        } catch (IOException e) {
            return false; // not a readable directory: the delta checks say what it is
        }
    }

    /**
     * The backup's own WAL, which recovery replays from pg_wal without asking restore_command:
     * refused, before the copy starts, when a CREATE TABLESPACE in it (one run while the backup
     * was taken) would take another cluster's tablespace ({@link org.pgstrata.postgres.ForeignTablespaces}).
     */
    private static void refuseForeignTablespaces(Manifest m, Path target, RecoveryPlan plan, Map<Long, Path> priorLinks, boolean delta)
            throws IOException {
        for (WalEntry w : m.wal()) {
            if (!WalFileName.isSegment(w.name())) {
                continue;
            }
            Path wal = target.resolve("pg_wal");
            byte[] content = Files.readAllBytes(wal.resolve(w.name()));
            org.pgstrata.postgres.WalSegmentHeader h = org.pgstrata.postgres.WalSegmentHeader.parse(content);
            if (h == null) {
                continue; // not a segment PostgreSQL can replay either
            }
            long segno = WalFileName.segmentNumber(w.name(), h.segmentSize());
            String next = WalFileName.segment(WalFileName.timeline(w.name()), segno + 1, h.segmentSize());
            String previous = segno == 0 ? null : WalFileName.segment(WalFileName.timeline(w.name()), segno - 1, h.segmentSize());
            var refused = org.pgstrata.postgres.ForeignTablespaces.find(w.name(), content, h.segmentSize(), target, plan.replayBound(),
                    () -> readIfThere(wal, next), () -> readIfThere(wal, previous), c -> sameFile(priorLinks.get(c.oid()), Path.of(c.location())));
            if (refused != null && delta) {
                // Written over already: it must not start (its recovery would replay the creation), as a failed delta restore
                Path control = target.resolve(DeltaTarget.CONTROL);
                if (Files.isRegularFile(control)) {
                    Files.move(control, target.resolve(DeltaTarget.CONTROL_ASIDE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
                throw new PgstrataException(ErrorCode.TABLESPACE_IN_USE, "backup " + m.id() + " cannot be restored here: its own " + refused.what()
                        + ", run while the backup was taken; the copy would replay it and write into that cluster's files; " + target
                        + " is restored but will not start (its pg_control is set aside as " + DeltaTarget.CONTROL_ASIDE + ")",
                        refused.hint(null));
            }
            if (refused != null) {
                throw new PgstrataException(ErrorCode.TABLESPACE_IN_USE, "backup " + m.id() + " cannot be restored here: its own " + refused.what()
                        + ", run while the backup was taken; the copy would replay it and write into that cluster's files; nothing was left in "
                        + target, refused.hint(null));
            }
        }
    }

    /** The content of file {@code name} in {@code dir}; null when there is none (or no name). */
    private static byte[] readIfThere(Path dir, String name) {
        try {
            return name != null && Files.isRegularFile(dir.resolve(name)) ? Files.readAllBytes(dir.resolve(name)) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The tablespace links of data directory {@code dir}: OID to where pg_tblspc/OID leads, for those that lead somewhere. */
    private static Map<Long, Path> tablespaceLinks(Path dir) {
        Map<Long, Path> links = new java.util.HashMap<>();
        try (Stream<Path> s = Files.list(dir.resolve("pg_tblspc"))) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.matches("\\d{1,10}") && Files.isSymbolicLink(p)) {
                    try {
                        links.put(Long.parseLong(n), p.toRealPath());
                    } catch (IOException e) {
                        // a link to nowhere: no location it can be the cluster's own
                    }
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return links;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return a != null && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The first member of {@code chain} that another command changed since the restore checked the
     * chain (restore takes no lock): removed by delete or expire, objects and all, or turned into a
     * reverse delta by a reverse backup; null when none was, and a missing object is damage.
     */
    private static Repository.Meanwhile changedMeanwhile(Repository repo, Chain chain) {
        for (String id : chain.members()) {
            Optional<Repository.Meanwhile> changed = repo.changedSince(chain.member(id));
            if (changed.isPresent()) {
                return changed.get();
            }
        }
        return null;
    }

    /** A backup is not damaged when another command removed or rewrote it under a restore: the restore says which, and what to do. */
    private static PgstrataException changedWhileRestoring(Repository.Meanwhile changed, Manifest m, Repository repo, String state) {
        String member = "backup " + changed.id() + (changed.id().equals(m.id()) ? "" : ", which backup " + m.id() + " is built on,");
        if (changed.now() == null) {
            return new PgstrataException(ErrorCode.NOT_FOUND, member + " was removed (by delete or expire) while the restore read it" + state,
                    "restore a backup that is kept ('pgstrata list --repo " + repo.describe() + "')");
        }
        return new PgstrataException(ErrorCode.LOCKED, member + " was turned into a reverse delta over " + changed.now().reference()
                + " (by a reverse backup) while the restore read it" + state,
                "run the same restore again: backup " + m.id() + " is kept, and now restores through " + changed.now().reference());
    }

    /** A delta restore cannot put back what it overwrote: {@code state} says so, and that the directory will not start until a rerun (or that nothing was changed). */
    private static PgstrataException deltaFailed(Exception e, Path target, Manifest m, Repository repo, String state) {
        if (e instanceof CorruptObjectException c) {
            return new PgstrataException(ErrorCode.CORRUPT, "backup " + m.id() + " is damaged: " + c.getMessage() + state,
                    "run 'pgstrata verify --repo " + repo.describe() + "' and restore another backup with --delta");
        }
        if (e instanceof PgstrataException p) {
            return p;
        }
        return new PgstrataException(ErrorCode.IO, "delta restore into " + target + " failed: " + e.getMessage() + state,
                "check free space and permissions, then run the same restore --delta again", e);
    }

    /** Where recovery stopped (LSN and last transaction's time, when known, and in words) and what state the server is in. */
    private record Stop(String lsn, String time, String state, Integer port, String where) {
    }

    /**
     * Starts the server and waits until recovery has reached the target: read-write after
     * promotion, paused, or shut down, as the target's action says. The wait follows progress
     * (the replay position, the server's log and its startup process's work): it fails when the
     * server exits, or when nothing has moved for {@code stall}, never because recovery is slow.
     *
     * <p>With {@code raiseLowerSettings} (a drill's scratch copy), a setting lower than the
     * source's when it wrote the WAL is raised to the source's value and the copy started again,
     * as the error's hint tells the user of a restore to do: a drill proves the backup, and a
     * drill of an older backup has no other way past a value the source raised after it.
     */
    private Stop startAndWait(LocalCluster cluster, RecoveryTarget target, RecoveryPlan plan, Duration stall, boolean raiseLowerSettings) {
        org.pgstrata.api.TestHooks.pauseAt("restore-start", progress);
        try {
            cluster.start(null, org.pgstrata.api.CipherPass.environment(), stall); // restore_command's passphrase, from wherever this command had it
        } catch (PgstrataException e) {
            // Not the log's "shut down": PostgreSQL writes that after a failed start too (a preloaded library missing), and
            // a cluster that logs only fatal messages, or only to syslog, does not write it when it stops at the target
            if (stopsAtTarget(target) && shutDownInRecovery(cluster)) {
                return shutdownStop(cluster, stall, target, e);
            }
            throw explained(cluster, target, e);
        }
        int port = cluster.status().map(LocalCluster.Status::port).orElse(cluster.configuredPort());
        ConnectionSettings s;
        try {
            s = readinessProbe(cluster, port);
        } catch (PgstrataException e) {
            // A short recovery to a shutdown target can end, and the server stop, between its start and this probe.
            if (stopsAtTarget(target) && !cluster.postmasterAlive()) {
                return shutdownStop(cluster, stall, target, e);
            }
            throw explained(cluster, target, e);
        }
        StallWatch watch = new StallWatch(stall);
        String replayed = null;
        Map<String, Long> raised = new java.util.HashMap<>();
        int raises = 0;
        while (true) {
            if (!cluster.postmasterAlive()) {
                PgstrataException stopped = new PgstrataException(ErrorCode.SERVER, "the restored server stopped during recovery: "
                        + cluster.serverLogTail(), "read the server log in " + cluster.pgdata());
                if (stopsAtTarget(target)) {
                    return shutdownStop(cluster, stall, target, stopped);
                }
                throw explained(cluster, target, stopped);
            }
            try (Connection c = Db.connect(s, "pgstrata restore")) {
                boolean inRecovery = "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"));
                boolean paused = inRecovery && "t".equals(Db.queryString(c, "SELECT pg_is_wal_replay_paused()"));
                String lsn = Db.queryString(c, "SELECT pg_last_wal_replay_lsn()::text");
                if (!inRecovery || paused) {
                    LowerSetting lower = paused ? lowerSetting(cluster) : null;
                    if (lower != null && raised.getOrDefault(lower.name(), 0L) >= lower.source()) {
                        lower = null; // the log's line from before this copy was started again with the value raised
                    }
                    if (lower != null) {
                        // PostgreSQL paused recovery itself, short of the target: not where the restore was asked to stop
                        cluster.stop();
                        if (!raiseLowerSettings || raises++ >= MAX_RAISES) {
                            throw lower.error(cluster);
                        }
                        raise(cluster, lower);
                        raised.put(lower.name(), lower.source());
                        cluster.start(null, org.pgstrata.api.CipherPass.environment(), stall);
                        watch = new StallWatch(stall);
                        continue;
                    }
                    String time = Db.queryString(c, "SELECT pg_last_xact_replay_timestamp()::text");
                    if (lsn == null && plan.targetLsn() != null) {
                        lsn = plan.targetLsn().toString();
                    }
                    return new Stop(lsn, time, inRecovery ? "paused in recovery (read-only)" : "read-write", port, lsn);
                }
                replayed = lsn;
            } catch (PgstrataException e) {
                if (e.code() == ErrorCode.AUTHENTICATION) {
                    // Not "still starting": waiting would never end. The server is up but will not let us
                    // check where recovery stopped; a server left running after a failed restore would
                    // surprise, so it is stopped.
                    cluster.stop();
                    throw new PgstrataException(ErrorCode.AUTHENTICATION, "the restored server in " + cluster.pgdata()
                            + " started but refused the check of its recovery: " + e.getMessage() + "; it was stopped",
                            "set PGPASSWORD (or a ~/.pgpass or PGPASSFILE line, mode 0600) and PGUSER for the restored cluster's"
                                    + " pg_hba.conf, then start it with 'pgstrata cluster start -D " + cluster.pgdata() + "'", e);
                }
                if (DatabaseLocales.refusedFor(e)) {
                    // The database this check connects to was created in a locale this host lacks: where recovery stops
                    // cannot be asked, and waiting would never end.
                    cluster.stop();
                    throw new PgstrataException(ErrorCode.SERVER_SETTING, "the restored server in " + cluster.pgdata() + " started but refused"
                            + " the check of its recovery: " + e.getMessage() + "; it was stopped", "install the database's locale on this"
                            + " host (localedef or the locales package), then start it with 'pgstrata cluster start -D " + cluster.pgdata() + "'", e);
                }
                // still starting, or replaying before consistency: try again shortly
            } catch (SQLException e) {
                // still starting, or replaying before consistency: try again shortly
            }
            watch.observe(List.of(String.valueOf(replayed), cluster.progress()));
            if (watch.stalled()) {
                cluster.stopImmediately();
                throw new PgstrataException(ErrorCode.SERVER, "recovery of the restored server made no progress for " + watch.stillSeconds()
                        + " s" + (replayed == null ? "" : " (replayed up to " + replayed + ")") + " before reaching " + target.describe()
                        + ", and the server was stopped: " + cluster.serverLogTail(),
                        "read the server log in " + cluster.pgdata() + "; if the host is just very busy, allow a longer stall (--start-timeout)");
            }
            StallWatch.pause(200);
        }
    }

    /**
     * A restored server that runs but refuses one of its databases, created in a locale this host
     * lacks, is no restore the user can work with, and nothing else would say so until a client
     * connects: exit 20 naming each such database, with the server left running for the others.
     */
    private void refuseLackedLocales(LocalCluster cluster, Stop stop) {
        Map<String, String> lacking;
        try {
            lacking = DatabaseLocales.lacking(readinessProbe(cluster, stop.port()), "pgstrata restore");
        } catch (SQLException e) {
            throw new PgstrataException(ErrorCode.SERVER, "cannot list the databases of the restored server in " + cluster.pgdata() + ": "
                    + e.getMessage(), "read the server log in " + cluster.pgdata());
        }
        if (lacking.isEmpty()) {
            return;
        }
        String which = lacking.entrySet().stream().map(d -> "database " + d.getKey() + " (" + d.getValue() + ")")
                .collect(java.util.stream.Collectors.joining(", "));
        throw new PgstrataException(ErrorCode.SERVER_SETTING, "the restored server in " + cluster.pgdata() + " is running on port " + stop.port()
                + " (" + stop.state() + ", recovery stopped at " + stop.where() + "), but refuses connections to " + which
                + ": this host lacks " + (lacking.size() == 1 ? "that locale" : "those locales"),
                "install the locale on this host (localedef or the locales package), then restart the server: 'pgstrata cluster stop -D "
                        + cluster.pgdata() + "' and 'pgstrata cluster start -D " + cluster.pgdata() + "'");
    }

    /**
     * The connection that asks the restored server how far recovery got. The restored server keeps
     * the source's pg_hba.conf: it is checked as the user would connect, with PGUSER, PGPASSWORD and
     * the password file, on the socket or address it listens on.
     */
    private ConnectionSettings readinessProbe(LocalCluster cluster, int port) {
        ConnectionSettings who = ConnectionSettings.resolve(null, port, null, "postgres", env);
        return Libpq.forLocalServer(cluster.pgdata(), who);
    }

    /** How wal get's error line (WalGet) starts when the archived copy of a file is damaged. */
    private static final String DAMAGED_WAL = "pgstrata: error: archived WAL ";

    /** wal get's own line in the server log that holds {@code marker}, as an error with {@code code}; null when there is none. */
    private static PgstrataException refusedByWalGet(LocalCluster cluster, String marker, ErrorCode code, String what) {
        String line = cluster.serverLogLine(marker);
        if (line == null) {
            return null;
        }
        String why = line.substring(line.indexOf("pgstrata: error: ") < 0 ? 0 : line.indexOf("pgstrata: error: ") + 17);
        int h = why.indexOf("; hint: ");
        return new PgstrataException(code, "the restored server in " + cluster.pgdata() + " " + what + ": " + (h < 0 ? why : why.substring(0, h)),
                h < 0 ? null : why.substring(h + 8));
    }

    /**
     * restore_command (wal get) failed for a reason of its own, such as a repository it cannot
     * reach from where the server runs, and so the server stopped: wal get's line says why, not
     * the start's usual causes. The restored files are intact, and the copy goes on from where
     * recovery stopped once that is fixed. Null when the log's tail (this start's) has no such line.
     */
    private static PgstrataException walGetFailed(LocalCluster cluster, String log) {
        int at = log.indexOf(WAL_GET_ERROR);
        if (at < 0 || !log.contains("from archive")) {
            return null;
        }
        String why = log.substring(at + WAL_GET_ERROR.length());
        why = why.contains(" | ") ? why.substring(0, why.indexOf(" | ")) : why;
        int h = why.indexOf("; hint: ");
        return new PgstrataException(ErrorCode.IO, "the restored server in " + cluster.pgdata() + " stopped recovery: restore_command (pgstrata wal get) failed: "
                + (h < 0 ? why : why.substring(0, h)), (h < 0 ? "" : why.substring(h + 8) + "; ") + "the restored files are intact: once that is "
                + "fixed, 'pgstrata cluster start -D " + cluster.pgdata() + "' goes on with recovery from where it stopped");
    }

    private static final String WAL_GET_ERROR = "pgstrata: error: ";

    /**
     * restore_command (wal get) was killed (kill -9, the out-of-memory killer), so the server stopped recovery: as after
     * any failed fetch, the restored files are intact and the copy goes on from where recovery stopped; the start's usual
     * causes (a port in use, a damaged data directory) are not. Null when the server's log does not say so.
     */
    private static PgstrataException walGetKilled(LocalCluster cluster) {
        String line = cluster.serverLogLine("from archive: child process was terminated by signal");
        if (line == null) {
            line = cluster.serverLogLine("from archive: child process exited with exit code 137"); // a shell that ran it: 128 + SIGKILL
        }
        if (line == null) {
            return null;
        }
        return new PgstrataException(ErrorCode.SERVER, "the restored server in " + cluster.pgdata() + " stopped recovery: restore_command "
                + "(pgstrata wal get) was killed: " + line.strip(), "the restored files are intact: 'pgstrata cluster start -D " + cluster.pgdata()
                + "' goes on with recovery from where it stopped (if the system's out-of-memory killer ended it, free memory first)");
    }

    /**
     * Whether the server stops at this target: a shutdown target, and a pause target under
     * hot_standby = off (which PostgreSQL documents to act as shutdown). A pause target's server
     * that stops otherwise still fails: {@link #shutdownStop} checks pg_control.
     */
    private static boolean stopsAtTarget(RecoveryTarget target) {
        return target.action().equals("shutdown") || target.action().equals("pause");
    }

    /** Whether the server stopped in archive recovery, as it does at a shutdown target: pg_control says so, whatever its log says. */
    private static boolean shutDownInRecovery(LocalCluster cluster) {
        try {
            return !cluster.postmasterAlive() && org.pgstrata.postgres.ControlFile.state(cluster.pgdata()) == org.pgstrata.postgres.ControlFile.SHUT_DOWN_IN_RECOVERY;
        } catch (IOException e) {
            return false;
        }
    }

    /** The postmaster's words when a preloaded library's file is not there (dfmgr.c), the name quoted as configured. */
    private static final java.util.regex.Pattern MISSING_LIBRARY = java.util.regex.Pattern.compile(
            "FATAL:  (?:[0-9A-Z]{5}: )?could not (access file|load library) \"([^\"]+)\"[^|]*");

    /** PostgreSQL's words (xlogrecovery.c) when the copy's setting is lower than the source's when it wrote the WAL replayed. */
    private static final java.util.regex.Pattern LOWER_SETTING = java.util.regex.Pattern.compile(
            "(\\w+) = (\\d+) is a lower setting than on the primary server, where its value was (\\d+)");

    /**
     * The copy's max_connections (max_worker_processes, max_prepared_transactions, max_locks_per_transaction,
     * max_wal_senders) lower than the source's when it wrote the WAL being replayed, as a setting error; null when the
     * server log does not say so. PostgreSQL then pauses recovery short of the target (hot_standby = on) or stops
     * (off): neither is the target, nor missing WAL, nor a failing backup.
     */
    private static LowerSetting lowerSetting(LocalCluster cluster) {
        String line = cluster.serverLogLine("is a lower setting than on the primary server");
        java.util.regex.Matcher m = line == null ? null : LOWER_SETTING.matcher(line);
        if (m == null || !m.find()) {
            return null;
        }
        return new LowerSetting(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
    }

    /**
     * How many times a drill's copy is started again with a setting raised: PostgreSQL checks five so (max_connections,
     * max_worker_processes, max_wal_senders, max_prepared_transactions, max_locks_per_transaction), and the WAL may raise
     * one more than once; beyond this, raising does not help and the error is the user's to read.
     */
    private static final int MAX_RAISES = 10;

    /** A setting of the copy ({@code name} = {@code copy}) lower than the {@code source} value the WAL replayed was written with. */
    private record LowerSetting(String name, long copy, long source) {
        PgstrataException error(LocalCluster cluster) {
            return new PgstrataException(ErrorCode.SERVER_SETTING, "the restored server in " + cluster.pgdata() + " cannot replay the archived WAL: "
                    + name + " = " + copy + " in its configuration is lower than the " + source + " the source had when it wrote"
                    + " that WAL, so PostgreSQL stopped recovery short of the target; the server was stopped",
                    "set " + name + " = " + source + " (or more) in " + cluster.pgdata().resolve("postgresql.auto.conf")
                            + ", then start it with 'pgstrata cluster start -D " + cluster.pgdata() + "': recovery goes on from where it stopped");
        }
    }

    /** The copy's {@code lower} setting raised to the source's value, last in postgresql.auto.conf, which the server reads last. */
    private void raise(LocalCluster cluster, LowerSetting lower) {
        progress.warn("the copy's " + lower.name() + " = " + lower.copy() + " is lower than the " + lower.source() + " the source had when it"
                + " wrote the WAL: raised to " + lower.source() + " in this copy, which starts again");
        try {
            AutoConf.append(cluster.pgdata(), "Added by pgstrata for a restore drill: the source's value when it wrote the WAL replayed",
                    ConfValue.line(lower.name(), Long.toString(lower.source())));
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot write " + AutoConf.of(cluster.pgdata()) + ": " + e.getMessage(),
                    "check the room and permissions there");
        }
    }

    /** A failed start or recovery, with the server log's reason turned into its own error where there is one. */
    private static PgstrataException explained(LocalCluster cluster, RecoveryTarget target, PgstrataException e) {
        LowerSetting lower = lowerSetting(cluster);
        if (lower != null) {
            return lower.error(cluster);
        }
        // wal get refused a segment (another cluster's tablespace in it, or expire removed it while this restore ran): its
        // line, not the server's "could not restore file", says why and what still restores
        PgstrataException refused = refusedByWalGet(cluster, org.pgstrata.postgres.ForeignTablespaces.MARKER, ErrorCode.TABLESPACE_IN_USE, "stopped");
        if (refused == null) {
            refused = refusedByWalGet(cluster, org.pgstrata.manifest.WalExpiry.MARKER, ErrorCode.WAL_EXPIRED, "stopped recovery");
        }
        if (refused != null) {
            return refused;
        }
        String log = cluster.serverLogTail();
        if (org.pgstrata.storage.fs.FileStorage.noRoom(log)) {
            // The copy's disk is full (wal get could not write a segment into pg_wal, or the server its own files): an I/O
            // error where the copy is, not a failing server or backup (a drill must not record the backup as failed)
            return new PgstrataException(ErrorCode.IO, "the restored server in " + cluster.pgdata() + " stopped: no room to write there: " + log,
                    "free space where " + cluster.pgdata() + " is (recovery needs room for the WAL it fetches, 16 MiB a segment, beyond "
                            + "the backup's files), then run the command again");
        }
        String refusedConfig = cluster.serverLogLine("contains errors");
        if (refusedConfig != null && refusedConfig.contains("FATAL:") && refusedConfig.contains("configuration file")) {
            // The source ran with these settings; this host's server refuses them (a locale this host lacks, as lc_messages
            // or lc_monetary): the host, not the backup, is what fails (a drill must not record the backup as failed)
            return new PgstrataException(ErrorCode.SERVER_SETTING, "the restored server in " + cluster.pgdata() + " cannot start: this host's"
                    + " PostgreSQL refuses settings of its configuration (the source's): " + log,
                    "install what the settings name on this host (a locale: localedef or the locales package), or change them in the"
                            + " configuration files of " + cluster.pgdata() + "; then start it with 'pgstrata cluster start -D " + cluster.pgdata()
                            + "', or run the command again");
        }
        java.util.regex.Matcher library = MISSING_LIBRARY.matcher(log);
        if (library.find()) {
            // The copy's configuration (the source's) preloads a library that this host's PostgreSQL lacks: the host, not the
            // backup, is what fails (a drill must not record the backup as failed), as when the binaries themselves are missing
            return new PgstrataException(ErrorCode.BINARIES, "the restored server in " + cluster.pgdata() + " cannot start: its configuration "
                    + "preloads library \"" + library.group(2) + "\" (shared_preload_libraries), which the PostgreSQL binaries in "
                    + cluster.binaries().binDir() + " lack (" + library.group(0).strip() + ")",
                    "install the package that provides " + library.group(2) + " for PostgreSQL " + cluster.binaries().major()
                            + " on this host, or pass --pg-bin binaries that have it; then run the command again");
        }
        // The server's own line, wherever it is: PostgreSQL 17 writes four more lines after it as it shuts down, so the log's
        // tail never held it, and a target past the archive's last record ended as a failing server (exit 19)
        String ended = cluster.serverLogLine("recovery ended before configured recovery target was reached");
        if (ended != null) {
            return new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "recovery ended before reaching " + target.describe()
                    + ": the archived WAL stops earlier; " + ended.strip(), "choose an earlier target or --target latest");
        }
        if (log.contains("archived WAL") && log.contains("is damaged")) {
            // wal get's own line names the segment and what is wrong with it, with its hint: that line alone, not glued to
            // the server's shutdown lines with a second "pgstrata: error:" and a second hint
            String walGet = cluster.serverLogLine(DAMAGED_WAL);
            PgstrataException damaged = walGet != null && walGet.contains(" is damaged: ")
                    ? refusedByWalGet(cluster, DAMAGED_WAL, ErrorCode.CORRUPT, "stopped recovery") : null;
            return damaged != null ? damaged : new PgstrataException(ErrorCode.CORRUPT, "recovery stopped at a damaged archived WAL file: " + log,
                    "run 'pgstrata verify' to find it; restore to an earlier target, or repair the archive from a copy");
        }
        PgstrataException walGet = walGetFailed(cluster, log);
        if (walGet != null) {
            return walGet;
        }
        PgstrataException killedGet = walGetKilled(cluster);
        if (killedGet != null) {
            return killedGet;
        }
        if (log.contains("could not locate required checkpoint") || log.contains("requested WAL segment")
                || log.contains("could not find")) {
            return new PgstrataException(ErrorCode.WAL_MISSING, "recovery could not find the WAL it needs: " + log,
                    "run 'pgstrata verify --repo REPO' to see the gaps in the archive");
        }
        return e;
    }

    /**
     * After recovery_target_action=shutdown the server stops at the target without writing
     * "redo done at": where it stopped is the server's own "recovery stopping ..." line (an LSN
     * for an LSN target; a transaction, restore point or consistency otherwise, with a time).
     */
    private Stop shutdownStop(LocalCluster cluster, Duration stall, RecoveryTarget target, PgstrataException otherwise) {
        StallWatch watch = new StallWatch(stall);
        while (cluster.postmasterAlive() && !watch.stalled()) {
            watch.observe(cluster.progress());
            StallWatch.pause(100);
        }
        if (!shutDownInRecovery(cluster)) {
            // It stopped, but not at the target: it failed to start, or its recovery failed
            throw explained(cluster, target, otherwise);
        }
        String lsn = null;
        String time = null;
        String stopping = null;
        try {
            for (String line : cluster.logLines()) {
                int at = line.indexOf("recovery stopping ");
                if (at >= 0) {
                    stopping = line.substring(at).trim();
                    int t = stopping.indexOf(", time ");
                    time = t >= 0 ? stopping.substring(t + 7).trim() : null;
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(LSN\\) [\\\\\"]*([0-9A-F]+/[0-9A-F]+)").matcher(stopping);
                    lsn = m.find() ? m.group(1) : null;
                }
                int redo = line.indexOf("redo done at ");
                if (redo >= 0) {
                    lsn = line.substring(redo + "redo done at ".length()).split(" ")[0];
                }
            }
        } catch (IOException e) {
            // the words below say so
        }
        String where = lsn != null ? lsn
                : stopping != null ? "the target (the server log says: " + stopping + ")"
                : "the target (the server log names no position; see " + cluster.logFilesText() + ")";
        // A pause target acts as shutdown on a server with hot_standby = off (the source's setting, which the copy keeps)
        return new Stop(lsn, time, "shut down", null, where);
    }


    /**
     * The mode of the data directory itself, which the manifest does not list: 0750 for a cluster with group access
     * (initdb -g), else 0700, the only two PostgreSQL runs. The server gives everything it creates the mode that follows from
     * this one, and initdb gives global the data directory's, so the backup's global tells which. Always 0700 took group
     * access away: the copy (and a cluster brought back in place) ran with data_directory_mode 0700, and the group's members
     * (a backup user, a monitoring agent) could no longer enter it.
     */
    static String dataDirectoryMode(Manifest m) {
        boolean group = m.directories().stream().anyMatch(d -> d.path().equals("global") && d.mode().equals("rwxr-x---"));
        return group ? "rwxr-x---" : "rwx------";
    }

    /** The mode of a file the restore writes itself (the WAL, backup_label, recovery.signal), as the server would make it. */
    static String fileMode(Manifest m) {
        return dataDirectoryMode(m).equals("rwxr-x---") ? "rw-r-----" : "rw-------";
    }

    private long writeFiles(Repository repo, Chain chain, Path target, int jobs, Integer port, RecoveryPlan plan, Delta delta)
            throws IOException {
        Manifest m = chain.target();
        Files.createDirectories(target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(dataDirectoryMode(m)));
        for (DirectoryEntry d : m.directories()) {
            if (delta != null && DeltaTarget.foreign(d.path(), m.pgMajor())) {
                continue; // another cluster's, listed by a backup of an earlier version: left as it is
            }
            Path p = target.resolve(d.path());
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(d.mode()));
        }
        long total = m.files().stream().mapToLong(FileEntry::size).sum() + m.wal().stream().mapToLong(WalEntry::size).sum();
        progress.step("restoring " + m.files().size() + " files and " + m.wal().size() + " WAL files of backup " + m.id());
        FileEntry control = m.files().stream().filter(f -> f.path().equals(DeltaTarget.CONTROL)).findFirst().orElse(null);
        if (control != null && delta == null) {
            // First, under the name a delta restore sets pg_control aside with: a directory this restore leaves when killed
            // from here on starts no server, and 'restore --delta' finishes it (it finds the system identifier there).
            restoreFile(repo, chain, target, control, null, null);
            Files.move(target.resolve(DeltaTarget.CONTROL), target.resolve(DeltaTarget.CONTROL_ASIDE), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            org.pgstrata.api.TestHooks.haltAt("restore-control-aside");
        }
        if (delta != null) {
            try {
                delta.map = org.pgstrata.manifest.BlockMap.read(repo.objects(), m);
            } catch (IOException | org.pgstrata.api.PgstrataException e) { // damaged, or no room for it in TMPDIR
                progress.warn("the block map of backup " + m.id() + " cannot be read (" + e.getMessage()
                        + "): every differing file is decompressed whole");
            }
        }
        Writes writes = new Writes();
        try (org.pgstrata.manifest.BlockMap map = delta == null ? null : delta.map) {
            try {
                writeAll(repo, chain, target, jobs, m, files(m).stream()
                        .filter(f -> delta == null || !DeltaTarget.foreign(f.path(), m.pgMajor())).toList(), total, writes, delta, plan.otherHistories(), plan.unarchivedHistories());
            } catch (Throwable e) {
                // What failed the restore is what it reports: a flush that failed too (or an interrupt) only goes with it.
                try {
                    writes.stopFlushing();
                } catch (IOException | RuntimeException f) {
                    e.addSuppressed(f);
                }
                throw e;
            }
            writes.stopFlushing();
            // Data before the files that make the server start recovery from it.
            long s0 = System.nanoTime();
            String how = Durability.syncAll(Tablespaces.fileSystemRoots(target), writes.paths, jobs);
            progress.step(String.format("made the restored files durable (%s) in %.1f s", how, (System.nanoTime() - s0) / 1e9));
        }
        org.pgstrata.api.TestHooks.haltAt("restore-files-written");
        writeRecoveryFiles(m, target, port, plan, delta != null);
        // pg_control last, durable once all else is: until then no server starts the directory. A restore killed before
        // (kill -9, a crash, Ctrl-C) must not leave one that a server would recover from pg_control's own checkpoint,
        // without backup_label and the recovery settings, and then run with the source's archive_command.
        if (control != null && delta == null) {
            Files.move(target.resolve(DeltaTarget.CONTROL_ASIDE), target.resolve(DeltaTarget.CONTROL), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } else if (control != null) {
            restoreFile(repo, chain, target, control, delta, null); // what was set aside is the directory's old one
        }
        if (delta != null) {
            Files.deleteIfExists(target.resolve(DeltaTarget.CONTROL_ASIDE));
        }
        syncDirectories(target);
        return total;
    }

    /** The files to restore, largest first, without pg_control: it is written last (until then the directory does not start). */
    private static List<FileEntry> files(Manifest m) {
        List<FileEntry> files = new ArrayList<>(m.files());
        files.sort(Comparator.comparingLong(FileEntry::size).reversed());
        files.removeIf(f -> f.path().equals(DeltaTarget.CONTROL));
        return files;
    }

    private void writeAll(Repository repo, Chain chain, Path target, int jobs, Manifest m, List<FileEntry> files, long total, Writes writes,
            Delta delta, List<WalEntry> otherHistories, java.util.Set<String> unarchivedHistories) throws IOException {
        AtomicLong done = new AtomicLong();
        // Each task with the bytes it writes: the largest go first, so that no large one (a WAL segment of 16 MiB, a bundle
        // of many small files) is left to run alone at the end while the other workers have nothing to do.
        List<Map.Entry<Long, java.util.concurrent.Callable<Void>>> tasks = new ArrayList<>();
        // Small files live in bundles: each bundle is read once, whole, and its members written from memory.
        Map<String, List<FileEntry>> bundles = new LinkedHashMap<>();
        for (FileEntry f : files) {
            List<Chain.Layer> layers = chain.layers(f.path());
            ObjectRef only = layers.size() == 1 ? layers.get(0).object() : null;
            if (only != null && only.offset() != null) {
                bundles.computeIfAbsent(only.key(), k -> new ArrayList<>()).add(f);
                continue;
            }
            tasks.add(Map.entry(f.size(), () -> {
                restoreFile(repo, chain, target, f, delta, writes);
                progress.advance(done.addAndGet(f.size()), total);
                return null;
            }));
        }
        for (Map.Entry<String, List<FileEntry>> b : bundles.entrySet()) {
            tasks.add(Map.entry(b.getValue().stream().mapToLong(FileEntry::size).sum(), () -> {
                byte[] stored = null;
                for (FileEntry f : b.getValue()) {
                    if (!keep(target.resolve(f.path()), f.size(), f.checksum(), f.mode(), delta)) {
                        // The bundle is read only when one of its members differs.
                        stored = stored != null ? stored : repo.objects().readStored(b.getKey());
                        byte[] bytes = stored;
                        ObjectRef ref = chain.layers(f.path()).get(0).object();
                        writeFile(() -> repo.objects().open(ref, bytes), ref, target.resolve(f.path()), f.path(), f.size(), f.checksum(),
                                f.mode(), delta, writes);
                    }
                    progress.advance(done.addAndGet(f.size()), total);
                }
                return null;
            }));
        }
        List<WalEntry> walFiles = new ArrayList<>(m.wal());
        // Other backups' timeline histories: the copy then ends recovery on a timeline number no backup here used.
        walFiles.addAll(otherHistories);
        for (WalEntry w : walFiles) {
            tasks.add(Map.entry(w.size(), () -> {
                Path out = target.resolve("pg_wal").resolve(w.name());
                if (!keep(out, w.size(), w.checksum(), fileMode(m), delta)) {
                    writeFile(() -> repo.objects().open(w.object()), w.object(), out, "pg_wal/" + w.name(), w.size(), w.checksum(), fileMode(m),
                            delta, writes);
                }
                // Marked as archived, so that enabling archiving later does not archive them again; another backup's timeline
                // history that the archive lacks is marked ready, so that a cluster archiving there fills the gap it leaves.
                Path status = target.resolve("pg_wal/archive_status");
                Files.createDirectories(status);
                boolean ready = unarchivedHistories.contains(w.name()) && otherHistories.contains(w);
                Files.deleteIfExists(status.resolve(w.name() + (ready ? ".done" : ".ready")));
                Path mark = status.resolve(w.name() + (ready ? ".ready" : ".done"));
                Files.writeString(mark, "");
                Files.setPosixFilePermissions(mark, PosixFilePermissions.fromString(fileMode(m)));
                progress.advance(done.addAndGet(w.size()), total);
                return null;
            }));
        }
        tasks.sort(Map.Entry.<Long, java.util.concurrent.Callable<Void>>comparingByKey().reversed());
        Parallel.run(jobs, "pgstrata-restore", tasks.stream().map(Map.Entry::getValue).toList());
    }

    /** Restores one file from its layers: whole (alone or in a bundle) or rebuilt from page sets. */
    private static void restoreFile(Repository repo, Chain chain, Path target, FileEntry f, Delta delta, Writes writes) throws IOException {
        Path out = target.resolve(f.path());
        if (keep(out, f.size(), f.checksum(), f.mode(), delta)) {
            return;
        }
        List<Chain.Layer> layers = chain.layers(f.path());
        if (layers.size() > 1) {
            rebuildFile(repo, layers, out, f, delta, writes);
            return;
        }
        ObjectRef only = layers.get(0).object();
        long[] hashes = delta == null || delta.map == null || only == null || only.offset() != null
                || !DeltaTarget.LocalFrames.checkedBy(f.checksum()) ? null : delta.map.of(f.path());
        if (hashes != null) {
            // Frames whose blocks the local file already holds (by the block map) are read, not decompressed.
            DeltaTarget.LocalFrames local = new DeltaTarget.LocalFrames(out, hashes, f.size(), delta.reused);
            writeFile(() -> repo.objects().open(only, local), only, out, f.path(), f.size(), f.checksum(), f.mode(), delta, writes);
            return;
        }
        Opener content = only == null ? null : only.offset() == null ? () -> repo.objects().open(only) : () -> {
            byte[] stored = repo.objects().readStored(only.key());
            return repo.objects().open(only, stored);
        };
        writeFile(content, only, out, f.path(), f.size(), f.checksum(), f.mode(), delta, writes);
    }

    /** In a delta restore, whether {@code out} already has the backup's content (then only its mode is set). */
    private static boolean keep(Path out, long size, String checksum, String mode, Delta delta) throws IOException {
        if (delta == null || !DeltaTarget.same(out, size, checksum)) {
            return false;
        }
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(mode));
        delta.unchanged.incrementAndGet();
        return true;
    }

    /**
     * What the files of one restore share: the files whose fsync waits for the end
     * ({@link Durability}), and a thread that starts the writeback of each large one as soon as
     * it is written. The kernel would not start it by itself before the end (a restore writes far
     * less than the dirty-page limits of a large machine, in far less than their 30 s), so the
     * disk waited idle while the workers decompressed and then all of it was waited for at once.
     * That thread only waits for the disk; the sync at the end still covers every file.
     */
    private static final class Writes {
        /** Files from this size up are flushed as soon as they are written (the rest wait for the end). */
        static final long EARLY_FLUSH = 16L << 20;
        final java.util.Queue<Path> paths = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final java.util.concurrent.ThreadPoolExecutor flusher = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "pgstrata-flush");
                    t.setDaemon(true);
                    return t;
                });
        private final java.util.concurrent.atomic.AtomicReference<IOException> failed = new java.util.concurrent.atomic.AtomicReference<>();
        private final boolean early = !Boolean.getBoolean("pgstrata.restore.noEarlyFlush");

        /** A deferred file of {@code size} bytes is written (and closed by the caller next). */
        void written(Path out, long size) {
            if (!early || size < EARLY_FLUSH) {
                return;
            }
            flusher.execute(() -> {
                if (failed.get() != null) {
                    return;
                }
                try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ)) {
                    ch.force(true);
                } catch (IOException e) {
                    failed.compareAndSet(null, e);
                }
            });
        }

        /**
         * Drops the flushes not yet begun (the sync at the end covers those files), waits for the
         * one under way, and throws if any failed.
         */
        void stopFlushing() throws IOException {
            flusher.getQueue().clear();
            flusher.shutdown();
            try {
                while (!flusher.awaitTermination(1, java.util.concurrent.TimeUnit.SECONDS)) {
                    // an fsync of a large file on a slow disk: it ends
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while a restored file was being flushed");
            }
            IOException e = failed.get();
            if (e != null) {
                throw new IOException("a restored file could not be made durable: " + e.getMessage(), e);
            }
        }
    }

    /** Where a restored file's content goes: a new file, or in a delta restore over the existing one, block by block. */
    private static final class Sink implements AutoCloseable {
        final Path out;
        final FileChannel ch;
        final DeltaTarget.DeltaSink over;
        final OutputStream stream;
        /** Whether its fsync waits for the end of the restore, with the others' (else it is made durable at once). */
        final boolean deferred;
        private final Writes writes;

        /** @param buffered whether small writes are gathered (a rebuild writes page by page; a copy writes whole buffers) */
        Sink(Path out, Delta delta, Writes writes, long size, boolean buffered) throws IOException {
            this.out = out;
            if (!Files.isDirectory(out.getParent(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                // Restore made the manifest's directories first: createDirectories on an existing one throws (and catches) an exception.
                Files.createDirectories(out.getParent());
            }
            boolean existing = delta != null && Files.isRegularFile(out, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            ch = existing ? FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    : FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
            over = existing ? new DeltaTarget.DeltaSink(ch) : null;
            this.writes = writes;
            // In order, from one thread: writing one file's ranges from several threads (an earlier version) and
            // starting its writeback while it is written (tried) each cost about 1 s more system time per GB on ext4.
            stream = over != null ? over : buffered ? new java.io.BufferedOutputStream(Channels.newOutputStream(ch), bufferSize(size))
                    : Channels.newOutputStream(ch);
            deferred = over == null && writes != null;
            if (deferred) {
                writes.paths.add(out);
            }
        }

        /**
         * Writes the rest of the content (durable now, or with the others at the end) and counts what
         * was written.
         */
        void finish(long size, Delta delta) throws IOException {
            stream.flush();
            boolean changed = over == null ? true : over.finish();
            if (over == null && !deferred) {
                ch.force(true);
            }
            if (deferred) {
                writes.written(out, size);
            }
            if (delta != null) {
                delta.written.addAndGet(over == null ? size : over.written());
                if (changed) {
                    delta.files.incrementAndGet();
                }
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    /**
     * A copy buffer for a file of {@code size} bytes: 128 KiB, or less for a smaller file (most are
     * a few pages: 128 KiB each for a thousand files was half of a restore's allocations).
     */
    private static int bufferSize(long size) {
        return (int) Math.max(org.pgstrata.postgres.Page.SIZE, Math.min(1 << 17, size));
    }

    private interface Opener {
        InputStream open() throws IOException;
    }

    /** Writes one file from {@code content} (null for an empty file), checked against the manifest's size and checksum. */
    private static void writeFile(Opener content, ObjectRef ref, Path out, String path, long size, String checksum, String mode, Delta delta,
            Writes writes) throws IOException {
        Checksum digest = Checksum.like(checksum);
        long written = 0;
        try (Sink sink = new Sink(out, delta, writes, size, false)) {
            if (ref != null) {
                OutputStream os = sink.stream;
                try (InputStream in = content.open()) {
                    int n;
                    if (in instanceof InPlace p) {
                        // Straight from the decompressed frames, a buffer's worth at a time (a write that stays in the CPU's cache).
                        while ((n = p.readInPlace(bufferSize(size))) > 0) {
                            digest.update(p.array(), p.offset(), n);
                            os.write(p.array(), p.offset(), n);
                            written += n;
                        }
                    } else {
                        // Whole buffers (the stream is not buffered): a read may stop at a frame's end.
                        byte[] buf = new byte[bufferSize(size)];
                        while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
                            digest.update(buf, 0, n);
                            os.write(buf, 0, n);
                            written += n;
                        }
                    }
                }
            }
            sink.finish(written, delta);
        }
        if (written != size) {
            throw new CorruptObjectException(ref == null ? path : ref.key(), "restored " + path + " with " + written + " bytes, the manifest says " + size);
        }
        String actual = digest.hex();
        if (!actual.equals(checksum)) {
            throw new CorruptObjectException(ref == null ? path : ref.key(), "restored " + path + " with checksum " + actual + ", the manifest says " + checksum);
        }
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(mode));
    }

    /**
     * Rebuilds a file from page sets over a whole file ({@link Rebuild}: the same code verify and
     * the reverse-delta conversion check with) and checks it against the whole-content checksum
     * the backup recorded.
     */
    private static void rebuildFile(Repository repo, List<Chain.Layer> layers, Path out, FileEntry f, Delta delta, Writes writes)
            throws IOException {
        Rebuild.Target t;
        try (Sink sink = new Sink(out, delta, writes, f.size(), true)) {
            t = new Rebuild.Target(f.path(), layers, f.size(), f.checksum(), sink.stream, false);
            Rebuild.run(repo.objects(), List.of(t), null);
            sink.finish(f.size(), delta);
        }
        if (!t.matches()) {
            String key = layers.get(0).object() == null ? f.path() : layers.get(0).object().key();
            throw new CorruptObjectException(key, "and the backups under it " + layers.stream().map(Chain.Layer::backup).toList()
                    + " rebuild " + f.path() + " with checksum " + t.actual() + ", the manifest says " + f.checksum());
        }
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(f.mode()));
    }

    /**
     * backup_label makes the server start recovery at the backup's checkpoint and replay the WAL
     * in pg_wal up to the end of the backup. pg_tblspc holds each tablespace already, as a link to
     * where --tablespace-map put it or as a directory, so no tablespace_map is written.
     */
    private static void writeRecoveryFiles(Manifest m, Path target, Integer port, RecoveryPlan plan, boolean inPlace) throws IOException {
        // A past of its own from here on (a copy, or the cluster itself brought back): its incrementals do not trust the WAL summaries over
        // backups of another lineage.
        org.pgstrata.postgres.Lineage.writeNew(target, m.id(), java.time.Instant.now().toString());
        Path label = target.resolve("backup_label");
        Files.writeString(label, m.backupLabel(), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(label, PosixFilePermissions.fromString(fileMode(m)));
        // A copy must not archive into the source's archive; a delta restore brings the cluster itself back,
        // which goes on archiving (on its new timeline) as it did.
        // Nor run the commands a former standby keeps for its archive (a primary ignores them, a recovering copy runs them):
        // archive_cleanup_command (pg_archivecleanup of the source's archive) at each restartpoint, recovery_end_command at
        // promotion. Nor wait as a delayed standby does: recovery_min_apply_delay holds back every commit younger than it in
        // archive recovery too, so a copy of a recent point waited hours (a restore or drill called it stalled).
        StringBuilder extra = new StringBuilder(inPlace ? "" : ConfValue.line("archive_mode", "off") + ConfValue.line("archive_cleanup_command", "")
                + ConfValue.line("recovery_end_command", "") + ConfValue.line("recovery_min_apply_delay", "0"));
        if (port != null) {
            extra.append("port = ").append(port).append('\n');
        }
        if (Tablespaces.anyInPlace(target)) {
            // A tablespace is a directory in pg_tblspc now, not a link: without this, PostgreSQL refuses to end
            // recovery ("unexpected directory entry ... found in pg_tblspc/"), here and after any later crash.
            extra.append("allow_in_place_tablespaces = on\n");
        }
        if (plan.archiveRecovery()) {
            // The reason quotes the target (a restore point's name may hold a line break): a comment line however it reads.
            extra.append(ConfValue.comment("Recovery: " + plan.reason()));
            // A cluster restored to a target keeps that target in its configuration after promotion (PostgreSQL leaves it), and
            // its backups carry it: with this recovery's own target it made two ("multiple recovery targets specified"), and
            // without one (the end of the archive) the old one was still the target. PostgreSQL applies only the last line of a
            // setting, in file order: these come before this recovery's, so that no reset ever meets a target set here.
            for (String key : List.of("recovery_target", "recovery_target_lsn", "recovery_target_name", "recovery_target_time", "recovery_target_xid")) {
                if (!plan.settings().containsKey(key)) {
                    extra.append(ConfValue.line(key, ""));
                }
            }
            for (var e : plan.settings().entrySet()) {
                extra.append(ConfValue.line(e.getKey(), e.getValue()));
            }
            Path signal = target.resolve("recovery.signal");
            Files.writeString(signal, "");
            Files.setPosixFilePermissions(signal, PosixFilePermissions.fromString(fileMode(m)));
        }
        AutoConf.append(target, inPlace ? null : "Added by pgstrata restore of backup " + m.id() + ": a restored copy must not archive into"
                + " the source's archive, nor clean it up, nor delay its replay.", extra.toString());
        try (FileChannel ch = FileChannel.open(label, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /**
     * Shuts the restored copy in (see {@link RestoreRequest#sandbox}): appended to
     * postgresql.auto.conf, which the server reads last, so that these settings win over the
     * source's wherever it kept them.
     */
    private static void sandbox(Path target, Path socketDir) throws IOException {
        Path hba = target.resolve("pg_hba.pgstrata-drill.conf");
        Files.writeString(hba, "# Written by pgstrata for a restore drill: this copy is reached only through its own socket.\n"
                + "local all all trust\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(hba, PosixFilePermissions.fromString("rw-------"));
        String lines = ConfValue.line("listen_addresses", "")
                + ConfValue.line("unix_socket_directories", ConfValue.listElement(socketDir.toString()))
                // The source's socket group may not exist on this host (the socket could not be made); its directory is private anyway.
                + ConfValue.line("unix_socket_group", "")
                + "unix_socket_permissions = 0700\n"
                + ConfValue.line("hba_file", hba.toString())
                + ConfValue.line("ssl", "off")
                // Nor does it reach out: a promoted copy would run the source's subscriptions against the live publisher
                // (consuming the production subscription's slot), and stream from the source's primary while it recovers.
                + ConfValue.line("max_logical_replication_workers", "0")
                // and it has no standby: a source's synchronous standbys would make its first commit (the checks' CREATE
                // EXTENSION) wait forever
                + ConfValue.line("synchronous_standby_names", "")
                + ConfValue.line("primary_conninfo", "")
                + ConfValue.line("primary_slot_name", "")
                // Nor does it need the source's memory: a production server's huge_pages = on (none configured here) or
                // shared_buffers beyond this host's memory kept the copy from starting, and the sound backup was recorded as
                // failed. Recovery depends on neither (the settings it checks against the WAL are max_connections and the like).
                + ConfValue.line("huge_pages", "try")
                + ConfValue.line("shared_buffers", "128MB")
                // Nor the source's log directory: an absolute one this host lacks kept the collector from opening its file (the
                // copy exited, the backup was recorded as failed), and on the source's host the copy wrote into its log files.
                + ConfValue.line("log_directory", "log");
        AutoConf.append(target, "Added by pgstrata for a restore drill: reachable only through a socket in " + socketDir, lines);
    }

    private static void syncDirectories(Path target) throws IOException {
        // And where the links in pg_tblspc and a linked pg_wal lead, whose directories hold restored files as well (no other
        // link is followed: a delta restore may find the user's own, a log directory, even a loop).
        for (Path root : Tablespaces.fileSystemRoots(target)) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path d : walk.filter(p -> Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                    try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                }
            }
        }
    }

    /** Says where each tablespace goes: linked to a mapped directory, through a link the target has, or inside the target. */
    private void describeTablespaces(Manifest m, List<Tablespaces.Mapped> mapped, boolean delta) {
        if (delta) {
            return; // the cluster's own links and directories, kept
        }
        for (Tablespaces.Tablespace t : Tablespaces.of(m)) {
            Tablespaces.Mapped to = mapped.stream().filter(x -> x.tablespace.oid().equals(t.oid())).findFirst().orElse(null);
            if (to != null) {
                progress.step("tablespace " + t.describe() + " goes to " + to.dir + " (pg_tblspc/" + t.oid() + " links to it)");
            } else {
                progress.step("tablespace " + t.describe() + " is restored inside the data directory, as pg_tblspc/" + t.oid()
                        + " (allow_in_place_tablespaces = on); --tablespace-map " + (t.location() == null ? t.oid() : t.location())
                        + "=DIR puts it elsewhere");
            }
        }
    }

    private static java.util.Set<java.nio.file.attribute.PosixFilePermission> givenMode(Path dir) {
        try {
            return Files.getPosixFilePermissions(dir);
        } catch (IOException e) {
            return null; // left as the restore leaves it
        }
    }

    private static void cleanUp(Path target, boolean existed, java.util.Set<java.nio.file.attribute.PosixFilePermission> given) {
        try {
            if (existed) {
                for (Path child : children(target)) {
                    deleteTree(child);
                }
                if (given != null) {
                    Files.setPosixFilePermissions(target, given);
                }
            } else {
                deleteTree(target);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            // best effort: the error that brought us here is the one to report
        }
    }

    /**
     * Removes {@code p} and what is under it, holding one directory open at a time: Files.walk keeps
     * one open per level, and a restore that failed for lack of file descriptors (a low open-files
     * limit) could not remove what it had written, then claimed that nothing was left.
     */
    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            for (Path child : children(p)) {
                deleteTree(child);
            }
        }
        Files.deleteIfExists(p);
    }

    private static List<Path> children(Path dir) throws IOException {
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

}
