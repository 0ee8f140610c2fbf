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
import org.pgstrata.api.Self;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
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
            Path configDir = req.configDir() == null ? null : req.configDir().toAbsolutePath().normalize();
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
            boolean existed = Files.exists(target);
            long t0 = System.nanoTime();
            long bytes;
            try {
                bytes = writeFiles(repo, chain, target, req.jobs(), req.port(), plan);
                ExternalConfigRestore.place(m, target, configDir, progress);
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
            Stop stop = startAndWait(cluster, req.recoveryTarget(), plan);
            if (req.recoveryTarget().type() == RecoveryTarget.Type.LATEST && plan.targetLsn() != null && stop.lsn() != null
                    && org.pgstrata.postgres.Lsn.parse(stop.lsn()).isBefore(plan.targetLsn())) {
                // Never report a short recovery as the latest point.
                cluster.stop();
                throw new PgstrataException(ErrorCode.WAL_MISSING, "recovery stopped at " + stop.lsn() + ", before the end of the archive ("
                        + plan.targetLsn() + "); the server in " + target + " was stopped", "run 'pgstrata verify' to see what is missing");
            }
            double ready = (System.nanoTime() - t0) / 1e9;
            progress.step("recovery stopped at " + stop.lsn() + (stop.time() == null ? "" : " (last transaction " + stop.time() + ")")
                    + "; the server is " + stop.state() + (stop.port() == null ? "" : " on 127.0.0.1:" + stop.port()));
            return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, ready, stop.port(), plan.reason(), stop.lsn(),
                    stop.time(), stop.state());
        }
    }

    /** Where recovery stopped and what state the server is in. */
    private record Stop(String lsn, String time, String state, Integer port) {
    }

    /**
     * Starts the server and waits until recovery has reached the target: read-write after
     * promotion, paused, or shut down, as the target's action says.
     */
    private Stop startAndWait(LocalCluster cluster, RecoveryTarget target, RecoveryPlan plan) {
        try {
            cluster.start();
        } catch (PgstrataException e) {
            String log = cluster.serverLogTail();
            if (target.action().equals("shutdown") && log.contains("shut down")) {
                return shutdownStop(cluster);
            }
            if (log.contains("recovery ended before configured recovery target was reached")) {
                throw new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "recovery ended before reaching " + target.describe()
                        + ": the archived WAL stops earlier; " + log, "choose an earlier target or --target latest");
            }
            if (log.contains("archived WAL") && log.contains("is damaged")) {
                throw new PgstrataException(ErrorCode.CORRUPT, "recovery stopped at a damaged archived WAL file: " + log,
                        "run 'pgstrata verify' to find it; restore to an earlier target, or repair the archive from a copy");
            }
            if (log.contains("could not locate required checkpoint") || log.contains("requested WAL segment")
                    || log.contains("could not find")) {
                throw new PgstrataException(ErrorCode.WAL_MISSING, "recovery could not find the WAL it needs: " + log,
                        "run 'pgstrata verify --repo REPO' to see the gaps in the archive");
            }
            throw e;
        }
        int port = cluster.status().map(LocalCluster.Status::port).orElse(cluster.configuredPort());
        ConnectionSettings s = new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!cluster.isRunning()) {
                if (target.action().equals("shutdown")) {
                    return shutdownStop(cluster);
                }
                throw new PgstrataException(ErrorCode.SERVER, "the restored server stopped during recovery: " + cluster.serverLogTail(),
                        "read the server log in " + cluster.pgdata());
            }
            try (Connection c = Db.connect(s, "pgstrata restore")) {
                boolean inRecovery = "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"));
                boolean paused = inRecovery && "t".equals(Db.queryString(c, "SELECT pg_is_wal_replay_paused()"));
                if (!inRecovery || paused) {
                    String lsn = Db.queryString(c, "SELECT pg_last_wal_replay_lsn()::text");
                    String time = Db.queryString(c, "SELECT pg_last_xact_replay_timestamp()::text");
                    if (lsn == null && plan.targetLsn() != null) {
                        lsn = plan.targetLsn().toString();
                    }
                    return new Stop(lsn, time, inRecovery ? "paused in recovery (read-only)" : "read-write", port);
                }
            } catch (PgstrataException | SQLException e) {
                // still starting or replaying: try again shortly
            }
            sleep(100);
        }
        throw new PgstrataException(ErrorCode.SERVER, "the restored server did not reach " + target.describe() + " in time: " + cluster.serverLogTail(),
                "look at the server log in " + cluster.pgdata());
    }

    /** After recovery_target_action=shutdown the server is gone; its log says where it stopped. */
    private Stop shutdownStop(LocalCluster cluster) {
        for (int i = 0; i < 600 && cluster.isRunning(); i++) {
            sleep(100);
        }
        String lsn = null;
        String time = null;
        try {
            for (String line : Files.readAllLines(cluster.pgdata().resolve(LocalCluster.LOG_FILE))) {
                if (line.contains("recovery stopping")) {
                    int t = line.indexOf(", time ");
                    time = t >= 0 ? line.substring(t + 7).trim() : time;
                }
                int at = line.indexOf("redo done at ");
                if (at >= 0) {
                    lsn = line.substring(at + "redo done at ".length()).split(" ")[0];
                }
            }
        } catch (IOException e) {
            // the stop point is then unknown; the shutdown itself is what was asked for
        }
        return new Stop(lsn, time, "shut down", null);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgstrataException(ErrorCode.SERVER, "interrupted while waiting for recovery", null);
        }
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
                extra.append(e.getKey()).append(" = ").append(Self.confValue(e.getValue())).append('\n');
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
