package org.pgstrata.drill;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.PostmasterPid;
import org.pgstrata.db.RunDirectory;

/**
 * Where drills restore their copies: a private directory ({@code pgstrata-drills-USER} in the
 * temporary directory, or --scratch-dir), one {@code drill-PID-N} directory per drill. A drill
 * marks its directory ({@link RunDirectory}: {@value #LOCK} stays locked while it runs). A
 * directory whose lock can be taken belongs to no running drill: it is what a killed drill left,
 * and {@link #cleanLeftovers} stops its server (SIGQUIT, PostgreSQL's immediate shutdown, then
 * SIGKILL) and removes it.
 */
public final class ScratchArea {
    static final String LOCK = "drill.lock";
    static final String ABOUT = "drill.txt";
    /** Unix socket paths are at most 107 bytes; ".s.PGSQL.65535" takes 14 of them. */
    private static final int MAX_SOCKET_DIR = 90;

    private final Path parent;

    private ScratchArea(Path parent) {
        this.parent = parent;
    }

    /** The default scratch area: {@code pgstrata-drills-USER} in TMPDIR, else in java.io.tmpdir (/tmp). */
    public static Path defaultParent() {
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        String tmp = System.getenv("TMPDIR");
        return Path.of(tmp != null && !tmp.isBlank() ? tmp : System.getProperty("java.io.tmpdir"), "pgstrata-drills-" + user);
    }

    /** Opens (making it, private) the scratch area in {@code parent}, and removes what killed drills left there. */
    static ScratchArea open(Path parent, Progress progress, Map<String, String> env) {
        Path p = parent.toAbsolutePath().normalize();
        try {
            // One that exists is the user's (--scratch-dir /var/tmp, a home): its mode is left alone (a chmod 0700 of
            // /tmp would lock every other user out); each drill's own directory in it is private.
            if (!Files.isDirectory(p)) {
                Drill.privateDirectory(p);
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot make the drill scratch directory " + p + ": " + e.getMessage(),
                    "name a writable directory with --scratch-dir");
        }
        for (String removed : cleanLeftovers(p)) {
            progress.warn(removed);
        }
        return new ScratchArea(p);
    }

    /**
     * Removes what killed drills left in {@code parent} (nothing when it does not exist); returns
     * one line per directory removed, naming it and the drill it belonged to. Directories of
     * running drills are left alone.
     */
    public static List<String> cleanLeftovers(Path parent) {
        List<String> removed = new ArrayList<>();
        if (!Files.isDirectory(parent)) {
            return removed;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, "drill-*")) {
            for (Path d : dirs) {
                if (!Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS) || !d.getFileName().toString().matches("drill-\\d+-\\d+")) {
                    continue; // not a drill's: the scratch directory may be one the user keeps other things in
                }
                if (!Files.exists(d.resolve(LOCK))) {
                    try {
                        if (!young(d) && FileTrees.isEmpty(d)) {
                            deleteQuietly(d); // a drill killed between making its directory and its lock file
                        }
                    } catch (IOException e) {
                        // unreadable: not known to be a drill's, so left alone
                    }
                    continue; // being made (its drill creates the lock file next), or not a drill's
                }
                try {
                    RunDirectory.ifLeftover(d, LOCK, ABOUT, (dir, about) -> {
                        RunDirectory.stopServers(dir, 2);
                        FileTrees.delete(dir);
                        removed.add("removed " + dir + ", left by a drill that was killed" + (about.isEmpty() ? "" : " (" + about + ")"));
                    });
                } catch (IOException e) {
                    removed.add("could not remove " + d + ", left by a killed drill: " + e.getMessage());
                }
            }
        } catch (IOException e) {
            removed.add("could not look for what killed drills left in " + parent + ": " + e.getMessage());
        }
        return removed;
    }

    /** Whether {@code d} was modified in the last ten minutes. */
    private static boolean young(Path d) {
        try {
            return Files.getLastModifiedTime(d).toInstant().isAfter(Instant.now().minusSeconds(600));
        } catch (IOException e) {
            return false;
        }
    }

    /** A new copy's directory, locked for this drill until {@link Copy#close}. */
    Copy newCopy(String backupId, String repo) {
        long pid = ProcessHandle.current().pid();
        for (int n = 1; ; n++) {
            Path dir = parent.resolve("drill-" + pid + "-" + n);
            try {
                Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new PgstrataException(ErrorCode.IO, "cannot make a drill directory in " + parent + ": " + e.getMessage(),
                        "name a writable directory with --scratch-dir");
            }
            try {
                return new Copy(dir, backupId, repo);
            } catch (IOException e) {
                deleteQuietly(dir);
                throw new PgstrataException(ErrorCode.IO, "cannot prepare the drill directory " + dir + ": " + e.getMessage(),
                        "check the scratch directory's space and permissions (--scratch-dir)");
            }
        }
    }

    /** One drill's directory: the restored data in data/, its socket in the directory itself (or a short one elsewhere). */
    static final class Copy implements AutoCloseable {
        private final Path dir;
        private final Path socketDir;
        private final RunDirectory mark;
        private final Thread hook;
        private boolean closed;

        private Copy(Path dir, String backupId, String repo) throws IOException {
            this.dir = dir;
            Drill.privateDirectory(dir);
            mark = RunDirectory.mark(dir, LOCK, ABOUT, "backup " + backupId + " of " + repo + ", pid " + ProcessHandle.current().pid()
                    + ", started " + Instant.now(), true);
            // The limit is in bytes (the file name as the kernel sees it), not characters: "ü" takes two. A comma cannot be
            // in a socket directory that libpq's clients (pg_restore of a logical drill) are given: to them it separates hosts.
            socketDir = dir.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_DIR && !dir.toString().contains(",") ? dir : Files.createTempDirectory(Path.of("/tmp"), "pgstrata-drill-");
            // Interrupted (Ctrl-C, SIGTERM): the copy's server stopped and the directory removed all the same.
            hook = new Thread(this::cleanUp, "pgstrata-drill-cleanup");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        Path data() {
            return dir.resolve("data");
        }

        Path socketDir() {
            return socketDir;
        }

        @Override
        public synchronized void close() {
            cleanUp();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook runs, and finds nothing left
            }
        }

        private synchronized void cleanUp() {
            if (closed) {
                return;
            }
            closed = true;
            PostmasterPid.stopLeftover(data());
            // The data first, while the lock file still says whose it is: a removal cut short (killed, or a file that
            // would not go) leaves a directory the next drill recognises as a killed one's and removes.
            deleteQuietly(data());
            if (!socketDir.equals(dir)) {
                deleteQuietly(socketDir);
            }
            mark.release();
            if (!Files.exists(data(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                deleteQuietly(dir);
            }
        }
    }

    static void deleteQuietly(Path dir) {
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            // best effort: the next drill names what is left
        }
    }

}
