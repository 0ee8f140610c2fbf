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
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.CorruptObjectException;
import org.pgstrata.manifest.DirectoryEntry;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Hashing;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectRef;
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
            Manifest m = chooseBackup(repo, req.backupId());
            checkRestorable(m);
            LocalCluster.requireEmptyOrAbsent(target, "restore backup " + m.id() + " there");
            boolean existed = Files.exists(target);
            long t0 = System.nanoTime();
            long bytes;
            try {
                bytes = writeFiles(repo, m, target, req.jobs(), req.port());
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
            Double ready = null;
            Integer port = req.port();
            if (req.start()) {
                PgBinaries bin = PgBinaries.forMajor(req.pgBin(), m.pgMajor(), env);
                LocalCluster cluster = new LocalCluster(target, bin);
                progress.step("starting the restored server (recovery from " + m.startLsn() + " to " + m.stopLsn() + ")");
                cluster.start();
                int actualPort = cluster.status().map(LocalCluster.Status::port).orElse(port == null ? cluster.configuredPort() : port);
                waitReadWrite(actualPort);
                ready = (System.nanoTime() - t0) / 1e9;
                port = actualPort;
                progress.step("server ready for read-write connections on 127.0.0.1:" + actualPort);
            }
            return new RestoreResult(m.id(), target, m.files().size(), bytes, filesSeconds, ready, port);
        }
    }

    static Manifest chooseBackup(Repository repo, String id) {
        if (id != null) {
            return repo.manifest(id);
        }
        List<Manifest> all = repo.backups();
        if (all.isEmpty()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe() + " has no backups",
                    "take one with 'pgstrata backup --repo " + repo.describe() + " --pgdata DIR --type full'");
        }
        return all.get(all.size() - 1);
    }

    private static void checkRestorable(Manifest m) {
        for (FileEntry f : m.files()) {
            if (!FileEntry.WHOLE.equals(f.source()) && !FileEntry.UNCHANGED.equals(f.source())) {
                throw new PgstrataException(ErrorCode.CORRUPT, "backup " + m.id() + " stores " + f.path() + " as '" + f.source()
                        + "', which this version of pgstrata cannot restore", "use a newer pgstrata");
            }
        }
    }

    private long writeFiles(Repository repo, Manifest m, Path target, int jobs, Integer port) throws IOException {
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
        for (FileEntry f : files) {
            tasks.add(() -> {
                writeFile(repo, f.object(), target.resolve(f.path()), f.path(), f.size(), f.checksum(), f.mode());
                progress.advance(done.addAndGet(f.size()), total);
                return null;
            });
        }
        for (WalEntry w : m.wal()) {
            tasks.add(() -> {
                writeFile(repo, w.object(), target.resolve("pg_wal").resolve(w.name()), "pg_wal/" + w.name(), w.size(), w.checksum(), "rw-------");
                // Marked as archived, so that enabling archiving later does not archive them again.
                Path status = target.resolve("pg_wal/archive_status");
                Files.createDirectories(status);
                Files.writeString(status.resolve(w.name() + ".done"), "");
                progress.advance(done.addAndGet(w.size()), total);
                return null;
            });
        }
        Parallel.run(jobs, "pgstrata-restore", tasks);
        writeRecoveryFiles(m, target, port);
        syncDirectories(target);
        return total;
    }

    private static void writeFile(Repository repo, ObjectRef ref, Path out, String path, long size, String checksum, String mode)
            throws IOException {
        Files.createDirectories(out.getParent());
        Checksum digest = new Checksum();
        long written = 0;
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (ref != null) {
                OutputStream os = Channels.newOutputStream(ch);
                try (InputStream in = repo.objects().open(ref)) {
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
     * backup_label makes the server start recovery at the backup's checkpoint and replay the WAL
     * in pg_wal up to the end of the backup. Tablespaces are restored in place (as directories in
     * pg_tblspc), so no tablespace_map is written.
     */
    private static void writeRecoveryFiles(Manifest m, Path target, Integer port) throws IOException {
        Path label = target.resolve("backup_label");
        Files.writeString(label, m.backupLabel(), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(label, PosixFilePermissions.fromString("rw-------"));
        Path auto = target.resolve("postgresql.auto.conf");
        String extra = "\n# Added by pgstrata restore of backup " + m.id() + ": a restored copy must not archive into the source's archive.\n"
                + "archive_mode = 'off'\n" + (port == null ? "" : "port = " + port + "\n");
        Files.writeString(auto, extra, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
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

    /** Waits until the restored server accepts read-write connections (recovery finished). */
    private static void waitReadWrite(int port) {
        ConnectionSettings s = new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
        long deadline = System.nanoTime() + 300_000_000_000L;
        PgstrataException last = null;
        while (System.nanoTime() < deadline) {
            try (Connection c = Db.connect(s, "pgstrata restore")) {
                if ("f".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"))) {
                    return;
                }
            } catch (PgstrataException e) {
                last = e;
            } catch (SQLException e) {
                last = Db.sqlFailed("checking the restored server", e);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new PgstrataException(ErrorCode.SERVER, "the restored server on port " + port + " did not become read-write in time"
                + (last == null ? "" : ": " + last.getMessage()), "look at the server log in the restored data directory");
    }
}
