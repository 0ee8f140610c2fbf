package org.pgstrata.compare;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.FileTrees;
import org.pgstrata.db.RunDirectory;

/**
 * A compare run's work directory, marked as in use ({@link RunDirectory}): {@value #LOCK} in it is
 * locked while the run lasts. A compare killed with SIGKILL runs no clean-up, and its servers (the
 * source and any restored copy) kept running, each holding its port and shared memory, with
 * nothing to say whose they were. A later compare finds such a directory by its lock, stops the
 * servers in it and removes it, unless the killed run was asked to keep it ({@code --keep}).
 */
final class WorkDir implements AutoCloseable {
    static final String LOCK = "compare.lock";
    static final String ABOUT = "compare.txt";
    /** The prefix of the temporary directories compare makes when no --work-dir is given. */
    static final String TEMP_PREFIX = "pgstrata-compare-";
    /** How deep the data directories of a run lie in its work directory (work/source; work/NAME/restore...). */
    private static final int DEPTH = 4;

    private final RunDirectory mark;

    private WorkDir(RunDirectory mark) {
        this.mark = mark;
    }

    /** Marks {@code dir} as the work directory of this process's run. */
    static WorkDir take(Path dir, boolean keep) throws IOException {
        RunDirectory mark = RunDirectory.mark(dir, LOCK, ABOUT,
                "pid " + ProcessHandle.current().pid() + ", started " + Instant.now() + (keep ? ", keep" : ""), false);
        if (mark == null) {
            throw new IOException(dir + " is the work directory of a compare that is still running");
        }
        return new WorkDir(mark);
    }

    /** Ends the mark. A directory that is kept loses its lock file, so that no later run takes it for a killed one's. */
    @Override
    public void close() {
        mark.releaseAndUnmark();
    }

    /** Ends the mark but leaves the lock file, so that the next compare removes what this one could not. */
    void release() {
        mark.release();
    }

    /** Stops every server that works in a data directory of the run in {@code work}, known to the run or not; best effort. */
    static void stopServers(Path work) {
        try {
            if (Files.isDirectory(work)) {
                RunDirectory.stopServers(work, DEPTH);
            }
        } catch (IOException | RuntimeException e) {
            // the servers named in the run's list are stopped already; the next compare finds any other by the run's lock
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
        try {
            RunDirectory.ifLeftover(d, LOCK, ABOUT, (dir, about) -> {
                int stopped = RunDirectory.stopServers(dir, DEPTH);
                String what = (about.isEmpty() ? "" : " (" + about + ")");
                if (about.endsWith(", keep")) {
                    Files.deleteIfExists(dir.resolve(LOCK));
                    if (stopped > 0) {
                        done.add("stopped " + stopped + " server(s) in " + dir + ", left by a compare that was killed" + what + "; kept, as it asked");
                    }
                    return;
                }
                FileTrees.delete(dir);
                done.add("removed " + dir + (stopped > 0 ? " and stopped its " + stopped + " server(s)" : "") + ", left by a compare that was killed" + what);
            });
        } catch (IOException e) {
            done.add("could not clean up " + d + ", left by a killed compare: " + e.getMessage());
        }
    }
}
