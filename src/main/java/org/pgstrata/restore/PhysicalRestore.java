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
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Parallel;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.Libpq;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.db.StallWatch;
import org.pgstrata.manifest.Chain;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.CorruptObjectException;
import org.pgstrata.manifest.DirectoryEntry;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
import org.pgstrata.manifest.Rebuild;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.ConfValue;

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

    public RestoreResult run(RestoreRequest req) {
        Path target = req.target().toAbsolutePath().normalize();
        try (Repository repo = Repository.open(req.repo())) {
            repo.requireInfo();
            RecoveryPlan plan = RecoveryPlan.make(repo, req.recoveryTarget(), req.backupId());
            Manifest m = plan.backup();
            Chain chain = Chain.load(repo, m);
            if (chain.members().size() > 1) {
                progress.step("backup " + m.id() + " is built on " + String.join(", ", chain.members().subList(1, chain.members().size()))
                        + "; all present and consistent");
            }
            LocalCluster.requireEmptyOrAbsent(target, "restore backup " + m.id() + " there");
            progress.step(plan.reason());
            boolean existed = Files.exists(target);
            long t0 = System.nanoTime();
            long bytes;
            try {
                bytes = writeFiles(repo, chain, target, req.jobs(), req.port(), plan);
            } catch (IOException | RuntimeException e) {
                cleanUp(target, existed);
                if (e instanceof CorruptObjectException c) {
                    throw new PgstrataException(ErrorCode.CORRUPT, "backup " + m.id() + " is damaged: " + c.getMessage()
                            + "; nothing was left in " + target,
                            "run 'pgstrata verify --repo " + repo.describe() + "' and restore another backup");
                }
                if (e instanceof PgstrataException p) {
                    throw p;
                }
                throw new PgstrataException(ErrorCode.IO, "restore into " + target + " failed: " + e.getMessage() + "; nothing was left there",
                        "check free space and permissions, then run the restore again", e);
            }
            double filesSeconds = (System.nanoTime() - t0) / 1e9;
            progress.step("restored backup " + m.id() + " into " + target + " (" + m.files().size() + " files) in "
                    + String.format("%.1f", filesSeconds) + " s");
            if (!req.start()) {
                return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, null, req.port(), plan.reason(), null, null,
                        "stopped");
            }
            PgBinaries bin = PgBinaries.forMajor(req.pgBin(), m.pgMajor(), env);
            LocalCluster cluster = new LocalCluster(target, bin);
            progress.step("starting the restored server: recovery to " + req.recoveryTarget().describe());
            Duration stall = req.startStall() == null ? LocalCluster.DEFAULT_STALL : req.startStall();
            Stop stop = startAndWait(cluster, req.recoveryTarget(), plan, stall);
            if (req.recoveryTarget().type() == RecoveryTarget.Type.LATEST && plan.targetLsn() != null && stop.lsn() != null
                    && org.pgstrata.postgres.Lsn.parse(stop.lsn()).isBefore(plan.targetLsn())) {
                // Never report a short recovery as the latest point.
                cluster.stop();
                throw new PgstrataException(ErrorCode.WAL_MISSING, "recovery stopped at " + stop.lsn() + ", before the end of the archive ("
                        + plan.targetLsn() + "); the server in " + target + " was stopped", "run 'pgstrata verify' to see what is missing");
            }
            double ready = (System.nanoTime() - t0) / 1e9;
            progress.step("recovery stopped at " + stop.where() + (stop.time() == null || stop.where().contains(stop.time()) ? "" : " (last transaction " + stop.time() + ")")
                    + "; the server is " + stop.state() + (stop.port() == null ? "" : " on port " + stop.port()));
            return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, ready, stop.port(), plan.reason(), stop.lsn(),
                    stop.time(), stop.state(), stop.where());
        }
    }

    /** Where recovery stopped (LSN and last transaction's time, when known, and in words) and what state the server is in. */
    private record Stop(String lsn, String time, String state, Integer port, String where) {
    }

    /**
     * Starts the server and waits until recovery has reached the target: read-write after
     * promotion, paused, or shut down, as the target's action says. The wait follows progress
     * (the replay position, the server's log and its startup process's work): it fails when the
     * server exits, or when nothing has moved for {@code stall}, never because recovery is slow.
     */
    private Stop startAndWait(LocalCluster cluster, RecoveryTarget target, RecoveryPlan plan, Duration stall) {
        try {
            cluster.start(null, Map.of(), stall);
        } catch (PgstrataException e) {
            if (target.action().equals("shutdown") && cluster.serverLogTail().contains("shut down")) {
                return shutdownStop(cluster, stall);
            }
            throw explained(cluster, target, e);
        }
        int port = cluster.status().map(LocalCluster.Status::port).orElse(cluster.configuredPort());
        ConnectionSettings s = readinessProbe(cluster, port);
        StallWatch watch = new StallWatch(stall);
        String replayed = null;
        while (true) {
            if (!cluster.postmasterAlive()) {
                if (target.action().equals("shutdown")) {
                    return shutdownStop(cluster, stall);
                }
                throw explained(cluster, target, new PgstrataException(ErrorCode.SERVER, "the restored server stopped during recovery: "
                        + cluster.serverLogTail(), "read the server log in " + cluster.pgdata()));
            }
            try (Connection c = Db.connect(s, "pgstrata restore")) {
                boolean inRecovery = "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"));
                boolean paused = inRecovery && "t".equals(Db.queryString(c, "SELECT pg_is_wal_replay_paused()"));
                String lsn = Db.queryString(c, "SELECT pg_last_wal_replay_lsn()::text");
                if (!inRecovery || paused) {
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
     * The connection that asks the restored server how far recovery got. The restored server keeps
     * the source's pg_hba.conf: it is checked as the user would connect, with PGUSER, PGPASSWORD and
     * the password file, on the socket or address it listens on.
     */
    private ConnectionSettings readinessProbe(LocalCluster cluster, int port) {
        ConnectionSettings who = ConnectionSettings.resolve(null, port, null, "postgres", env);
        return Libpq.forLocalServer(cluster.pgdata(), who);
    }

    /** A failed start or recovery, with the server log's reason turned into its own error where there is one. */
    private static PgstrataException explained(LocalCluster cluster, RecoveryTarget target, PgstrataException e) {
        String log = cluster.serverLogTail();
        if (log.contains("recovery ended before configured recovery target was reached")) {
            return new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "recovery ended before reaching " + target.describe()
                    + ": the archived WAL stops earlier; " + log, "choose an earlier target or --target latest");
        }
        if (log.contains("archived WAL") && log.contains("is damaged")) {
            return new PgstrataException(ErrorCode.CORRUPT, "recovery stopped at a damaged archived WAL file: " + log,
                    "run 'pgstrata verify' to find it; restore to an earlier target, or repair the archive from a copy");
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
    private Stop shutdownStop(LocalCluster cluster, Duration stall) {
        StallWatch watch = new StallWatch(stall);
        while (cluster.postmasterAlive() && !watch.stalled()) {
            watch.observe(cluster.progress());
            StallWatch.pause(100);
        }
        String lsn = null;
        String time = null;
        String stopping = null;
        try {
            for (String line : Files.readAllLines(cluster.pgdata().resolve(LocalCluster.LOG_FILE))) {
                int at = line.indexOf("recovery stopping ");
                if (at >= 0) {
                    stopping = line.substring(at).trim();
                    int t = stopping.indexOf(", time ");
                    time = t >= 0 ? stopping.substring(t + 7).trim() : null;
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(LSN\\) \"([0-9A-F]+/[0-9A-F]+)\"").matcher(stopping);
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
                : "the target (the server log names no position; see " + cluster.pgdata().resolve(LocalCluster.LOG_FILE) + ")";
        return new Stop(lsn, time, "shut down", null, where);
    }


    private long writeFiles(Repository repo, Chain chain, Path target, int jobs, Integer port, RecoveryPlan plan) throws IOException {
        Manifest m = chain.target();
        Files.createDirectories(target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        for (DirectoryEntry d : m.directories()) {
            Path p = target.resolve(d.path());
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(d.mode()));
        }
        long total = m.files().stream().mapToLong(FileEntry::size).sum() + m.wal().stream().mapToLong(WalEntry::size).sum();
        AtomicLong done = new AtomicLong();
        progress.step("restoring " + m.files().size() + " files and " + m.wal().size() + " WAL files of backup " + m.id());
        List<java.util.concurrent.Callable<Void>> tasks = new ArrayList<>();
        List<FileEntry> files = new ArrayList<>(m.files());
        files.sort(Comparator.comparingLong(FileEntry::size).reversed());
        // Small files live in bundles: each bundle is read once, whole, and its members written from memory.
        Map<String, List<FileEntry>> bundles = new LinkedHashMap<>();
        for (FileEntry f : files) {
            List<Chain.Layer> layers = chain.layers(f.path());
            ObjectRef only = layers.size() == 1 ? layers.get(0).object() : null;
            if (only != null && only.offset() != null) {
                bundles.computeIfAbsent(only.key(), k -> new ArrayList<>()).add(f);
                continue;
            }
            tasks.add(() -> {
                if (layers.size() == 1) {
                    writeFile(only == null ? null : () -> repo.objects().open(only), only, target.resolve(f.path()), f.path(), f.size(),
                            f.checksum(), f.mode());
                } else {
                    rebuildFile(repo, layers, target.resolve(f.path()), f);
                }
                progress.advance(done.addAndGet(f.size()), total);
                return null;
            });
        }
        for (Map.Entry<String, List<FileEntry>> b : bundles.entrySet()) {
            tasks.add(() -> {
                byte[] stored = repo.objects().readStored(b.getKey());
                for (FileEntry f : b.getValue()) {
                    ObjectRef ref = chain.layers(f.path()).get(0).object();
                    writeFile(() -> repo.objects().open(ref, stored), ref, target.resolve(f.path()), f.path(), f.size(), f.checksum(), f.mode());
                    progress.advance(done.addAndGet(f.size()), total);
                }
                return null;
            });
        }
        for (WalEntry w : m.wal()) {
            tasks.add(() -> {
                writeFile(() -> repo.objects().open(w.object()), w.object(), target.resolve("pg_wal").resolve(w.name()), "pg_wal/" + w.name(),
                        w.size(), w.checksum(), "rw-------");
                // Marked as archived, so that enabling archiving later does not archive them again.
                Path status = target.resolve("pg_wal/archive_status");
                Files.createDirectories(status);
                Files.writeString(status.resolve(w.name() + ".done"), "");
                progress.advance(done.addAndGet(w.size()), total);
                return null;
            });
        }
        Parallel.run(jobs, "pgstrata-restore", tasks);
        writeRecoveryFiles(m, target, port, plan);
        syncDirectories(target);
        return total;
    }

    private interface Opener {
        InputStream open() throws IOException;
    }

    /** Writes one file from {@code content} (null for an empty file), checked against the manifest's size and checksum. */
    private static void writeFile(Opener content, ObjectRef ref, Path out, String path, long size, String checksum, String mode)
            throws IOException {
        Files.createDirectories(out.getParent());
        Checksum digest = new Checksum();
        long written = 0;
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (ref != null) {
                OutputStream os = Channels.newOutputStream(ch);
                try (InputStream in = content.open()) {
                    byte[] buf = new byte[1 << 17];
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        digest.update(buf, 0, n);
                        os.write(buf, 0, n);
                        written += n;
                    }
                }
            }
            ch.force(true);
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
    private static void rebuildFile(Repository repo, List<Chain.Layer> layers, Path out, FileEntry f) throws IOException {
        Files.createDirectories(out.getParent());
        Rebuild.Target t;
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream os = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 17);
            t = new Rebuild.Target(f.path(), layers, f.size(), f.checksum(), os, false);
            Rebuild.run(repo.objects(), List.of(t), null);
            ch.force(true);
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
     * in pg_wal up to the end of the backup. Tablespaces are restored in place (as directories in
     * pg_tblspc), so no tablespace_map is written.
     */
    private static void writeRecoveryFiles(Manifest m, Path target, Integer port, RecoveryPlan plan) throws IOException {
        Path label = target.resolve("backup_label");
        Files.writeString(label, m.backupLabel(), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(label, PosixFilePermissions.fromString("rw-------"));
        Path auto = target.resolve("postgresql.auto.conf");
        StringBuilder extra = new StringBuilder("\n# Added by pgstrata restore of backup " + m.id()
                + ": a restored copy must not archive into the source's archive.\narchive_mode = 'off'\n");
        if (port != null) {
            extra.append("port = ").append(port).append('\n');
        }
        if (m.directories().stream().anyMatch(d -> d.path().startsWith("pg_tblspc/"))) {
            // The tablespaces are directories in pg_tblspc now, not links: without this, PostgreSQL refuses to end
            // recovery ("unexpected directory entry ... found in pg_tblspc/"), here and after any later crash.
            extra.append("allow_in_place_tablespaces = on\n");
        }
        if (plan.archiveRecovery()) {
            extra.append("# Recovery: ").append(plan.reason()).append('\n');
            for (var e : plan.settings().entrySet()) {
                extra.append(ConfValue.line(e.getKey(), e.getValue()));
            }
            Path signal = target.resolve("recovery.signal");
            Files.writeString(signal, "");
            Files.setPosixFilePermissions(signal, PosixFilePermissions.fromString("rw-------"));
        }
        Files.writeString(auto, extra.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        try (FileChannel ch = FileChannel.open(auto, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try (FileChannel ch = FileChannel.open(label, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void syncDirectories(Path target) throws IOException {
        try (Stream<Path> walk = Files.walk(target)) {
            for (Path d : walk.filter(Files::isDirectory).toList()) {
                try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
                    ch.force(true);
                }
            }
        }
    }

    private static void cleanUp(Path target, boolean existed) {
        try (Stream<Path> walk = Files.walk(target)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!existed || !p.equals(target)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            // best effort: the error that brought us here is the one to report
        }
    }

}
