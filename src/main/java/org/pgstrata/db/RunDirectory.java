package org.pgstrata.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * A directory that a run (a drill's copy, a compare's work directory) marks as its own while it
 * lasts: a lock file in it stays locked, and the lock goes with the process however it ends, kill
 * -9 included; a second file says whose it is. A directory whose lock file exists and can be
 * locked belongs to no running process: a killed run left it, with whatever servers it started
 * still running. Drill and compare name their files and decide what to do with such a
 * directory; finding it and stopping its servers is here, once.
 */
public final class RunDirectory {
    private final Path dir;
    private final String lockName;
    private final String aboutName;
    private final FileChannel channel;
    private final FileLock lock;

    private RunDirectory(Path dir, String lockName, String aboutName, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.lockName = lockName;
        this.aboutName = aboutName;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Marks {@code dir} as this process's: locks {@code lockName} in it (waiting for the lock when
     * {@code wait}, else giving up) and writes {@code about} into {@code aboutName}. Returns null
     * when another process holds the lock and {@code wait} is false.
     */
    public static RunDirectory mark(Path dir, String lockName, String aboutName, String about, boolean wait) throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(lockName), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock = wait ? ch.lock() : ch.tryLock();
            if (lock == null) {
                ch.close();
                return null;
            }
            Files.writeString(dir.resolve(aboutName), about + "\n", StandardCharsets.UTF_8);
            return new RunDirectory(dir, lockName, aboutName, ch, lock);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Ends the mark, leaving the files (a directory about to be removed); the lock file stays, unlocked, when removal fails. */
    public void release() {
        try {
            lock.release();
            channel.close();
        } catch (IOException | RuntimeException e) {
            // released with the process
        }
    }

    /** Ends the mark and removes both files, so that no later run takes the directory (kept on purpose) for a killed one's. */
    public void releaseAndUnmark() {
        try {
            Files.deleteIfExists(dir.resolve(lockName));
            Files.deleteIfExists(dir.resolve(aboutName));
        } catch (IOException e) {
            // a kept directory with a lock file: a later run finds no server in it and keeps it
        }
        release();
    }

    /** What to do with a directory a killed run left, while its lock is held; {@code about} is "" when the run died before writing it. */
    public interface Leftover {
        void handle(Path dir, String about) throws IOException;
    }

    /**
     * Whether {@code d} is a killed run's: its lock file {@code lockName} exists and can be locked
     * (not a running process's, nor this process's own). If so, calls {@code leftover} while
     * holding that lock, so that no other cleaner works on it at the same time.
     */
    public static boolean ifLeftover(Path d, String lockName, String aboutName, Leftover leftover) throws IOException {
        Path lockFile = d.resolve(lockName);
        if (!Files.isRegularFile(lockFile, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        String about = "";
        try {
            about = Files.readString(d.resolve(aboutName), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            // killed before it wrote this: the directory is named anyway
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE); FileLock lock = ch.tryLock()) {
            if (lock == null) {
                return false; // a running process's
            }
            leftover.handle(d, about);
            return true;
        } catch (OverlappingFileLockException e) {
            return false; // this process's own
        }
    }

    /** Stops every server running in a data directory at most {@code depth} levels under {@code d} (SIGQUIT, then SIGKILL); how many. */
    public static int stopServers(Path d, int depth) throws IOException {
        List<Path> pidFiles;
        try (Stream<Path> s = Files.walk(d, depth)) {
            pidFiles = s.filter(p -> p.getFileName().toString().equals("postmaster.pid")).toList();
        } catch (UncheckedIOException e) {
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
