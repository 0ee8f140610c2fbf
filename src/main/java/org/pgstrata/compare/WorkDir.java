package org.pgstrata.compare;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.pgstrata.api.FileTrees;
import org.pgstrata.db.PostmasterPid;

/**
 * A compare run's work directory, marked as in use: {@value #LOCK} in it is locked while the run
 * lasts, and the lock goes with the process however it ends. A compare killed with SIGKILL runs
 * no clean-up, and its servers (the source and any restored copy) kept running, each holding its
 * port and shared memory, with nothing to say whose they were. A later compare finds such a
 * directory by its lock, which it can then take, stops the servers in it and removes it, unless
 * the killed run was asked to keep it ({@code --keep}).
 */
final class WorkDir implements AutoCloseable {
    static final String LOCK = "compare.lock";
    static final String ABOUT = "compare.txt";
    /** The prefix of the temporary directories compare makes when no --work-dir is given. */
    static final String TEMP_PREFIX = "pgstrata-compare-";
    /** How deep the data directories of a run lie in its work directory (work/source; work/NAME/restore...). */
    private static final int DEPTH = 4;

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private WorkDir(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /** Marks {@code dir} as the work directory of this process's run. */
    static WorkDir take(Path dir, boolean keep) throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                throw new IOException(dir + " is the work directory of a compare that is still running");
            }
            Files.writeString(dir.resolve(ABOUT), "pid " + ProcessHandle.current().pid() + ", started " + Instant.now() + (keep ? ", keep" : "")
                    + "\n", StandardCharsets.UTF_8);
            return new WorkDir(dir, ch, lock);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Ends the mark. A directory that is kept loses its lock file, so that no later run takes it for a killed one's. */
    @Override
    public void close() {
        try {
            Files.deleteIfExists(dir.resolve(LOCK));
            Files.deleteIfExists(dir.resolve(ABOUT));
        } catch (IOException e) {
            // a kept directory with a lock file: a later run finds no server in it and keeps it
        }
        try {
            lock.release();
            channel.close();
        } catch (IOException | RuntimeException e) {
            // released with the process
        }
    }

    /**
     * What killed compare runs left: every {@code pgstrata-compare-*} directory in {@code parent}
     * (the temporary directory), and {@code workDir} itself when given. Returns one line per
     * directory cleaned up. Directories of running compares, and any without a lock file, are left
     * alone.
     */
    static List<String> cleanLeftovers(Path parent, Path workDir) {
        List<String> done = new ArrayList<>();
        if (workDir != null) {
            cleanOne(workDir.toAbsolutePath().normalize(), done);
            return done;
        }
        if (!Files.isDirectory(parent)) {
            return done;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, TEMP_PREFIX + "*")) {
            for (Path d : dirs) {
                if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    cleanOne(d, done);
                }
            }
        } catch (IOException e) {
            done.add("could not look for what killed compare runs left in " + parent + ": " + e.getMessage());
        }
        return done;
    }

    private static void cleanOne(Path d, List<String> done) {
        Path lockFile = d.resolve(LOCK);
        if (!Files.isRegularFile(lockFile, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        String about = "";
        try {
            about = Files.readString(d.resolve(ABOUT), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            // killed before it wrote this
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE); FileLock lock = ch.tryLock()) {
            if (lock == null) {
                return; // a running compare's
            }
            int stopped = stopServers(d);
            String what = (about.isEmpty() ? "" : " (" + about + ")");
            if (about.endsWith(", keep")) {
                Files.deleteIfExists(lockFile);
                if (stopped > 0) {
                    done.add("stopped " + stopped + " server(s) in " + d + ", left by a compare that was killed" + what + "; kept, as it asked");
                }
                return;
            }
            FileTrees.delete(d);
            done.add("removed " + d + (stopped > 0 ? " and stopped its " + stopped + " server(s)" : "") + ", left by a compare that was killed" + what);
        } catch (OverlappingFileLockException e) {
            // this process's own run
        } catch (IOException e) {
            done.add("could not clean up " + d + ", left by a killed compare: " + e.getMessage());
        }
    }

    /** Stops every server that runs in a data directory under {@code d}; how many. */
    private static int stopServers(Path d) throws IOException {
        List<Path> pidFiles;
        try (Stream<Path> s = Files.walk(d, DEPTH)) {
            pidFiles = s.filter(p -> p.getFileName().toString().equals("postmaster.pid")).toList();
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
        int n = 0;
        for (Path f : pidFiles) {
            if (PostmasterPid.stopLeftover(f.getParent())) {
                n++;
            }
        }
        return n;
    }
}
