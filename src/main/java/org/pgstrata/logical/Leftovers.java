package org.pgstrata.logical;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.api.FileTrees;
import org.pgstrata.db.Db;
import org.pgstrata.manifest.Checksum;

/**
 * The temporary database and the decompressed dump of a logical restore carry their owner in
 * their names: the restoring process's pid, its start time, and a hash of the host and pid
 * namespace that make that pid meaningful. A restore killed with SIGKILL cannot clean up, so the
 * next logical restore removes what a dead run left: only names it can prove are its own kind,
 * made on this host, by a process that is gone (no such pid, or one started at another time).
 * Anything that looks like a leftover but cannot be proven dead (another host, an older pgstrata's
 * name) is only named.
 */
final class Leftovers {
    static final String DATABASE_PREFIX = "pgstrata_restore_";
    static final String DIRECTORY_PREFIX = "pgstrata-logical-restore-";
    /** A parallel logical backup's directory-format dump, under the system's temporary directory. */
    static final String DUMP_PREFIX = "pgstrata-logical-dump-";
    /** pid, start time (epoch seconds, hex), host hash; then a part that tells one run's restores apart. */
    private static final Pattern TAG = Pattern.compile("(\\d+)_([0-9a-f]+)_([0-9a-f]{8})_.*");

    private Leftovers() {
    }

    /** This process's owner tag: pid_start_host. */
    static String tag() {
        ProcessHandle self = ProcessHandle.current();
        long start = self.info().startInstant().map(i -> i.getEpochSecond()).orElse(0L);
        return self.pid() + "_" + Long.toHexString(start) + "_" + host();
    }

    /** A new temporary database name for this process (63 bytes at most). */
    static String temporaryDatabase() {
        return DATABASE_PREFIX + tag() + "_" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    }

    /** A new work directory for the decompressed dump, under the system's temporary directory. */
    static Path createWorkDirectory() throws IOException {
        return Files.createTempDirectory(DIRECTORY_PREFIX + tag() + "_");
    }

    /** A new directory for a parallel logical backup's dump of backup {@code id}, under the system's temporary directory. */
    static Path createDumpDirectory(String id) throws IOException {
        return Files.createTempDirectory(DUMP_PREFIX + tag() + "_" + id + "-");
    }

    /**
     * The host and pid namespace this process runs in, as 8 hex digits: a pid names the same
     * process only within one pid namespace of one host.
     */
    static String host() {
        String name = read("/proc/sys/kernel/hostname");
        String ns;
        try {
            ns = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            ns = "";
        }
        byte[] b = (name + "|" + ns).getBytes(StandardCharsets.UTF_8);
        return String.format("%08x", Checksum.hash64(b, 0, b.length) & 0xffffffffL);
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** Whether {@code rest} (what follows a prefix) names a run on this host whose process is gone; empty when it cannot be told. */
    static Optional<Boolean> ownerDead(String rest) {
        Matcher m = TAG.matcher(rest);
        if (!m.matches() || !m.group(3).equals(host())) {
            return Optional.empty();
        }
        long pid = Long.parseLong(m.group(1));
        long start = Long.parseLong(m.group(2), 16);
        Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (p.isEmpty()) {
            return Optional.of(true);
        }
        // The pid was reused when the process that has it now started at another time.
        return Optional.of(p.get().info().startInstant().map(i -> Math.abs(i.getEpochSecond() - start) > 1).orElse(false));
    }

    /**
     * Drops the temporary databases of dead restores (forcing off a pg_restore the dead run left
     * connected) and names those it cannot prove dead. One line per database, for the result's
     * warnings.
     */
    static List<String> cleanDatabases(Connection admin) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = admin.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_database WHERE starts_with(datname, '" + DATABASE_PREFIX + "') ORDER BY 1")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        List<String> notes = new ArrayList<>();
        for (String db : names) {
            Optional<Boolean> dead = ownerDead(db.substring(DATABASE_PREFIX.length()));
            if (dead.isEmpty()) {
                notes.add("database " + db + " looks left by an interrupted logical restore on another host or by an older pgstrata;"
                        + " drop it (DROP DATABASE) once no restore is running");
            } else if (dead.get()) {
                try {
                    Db.execute(admin, "DROP DATABASE IF EXISTS " + Catalog.ident(db) + " WITH (FORCE)");
                    notes.add("removed database " + db + ", left by an interrupted logical restore (process " + db.substring(
                            DATABASE_PREFIX.length()).split("_")[0] + " is gone)");
                } catch (SQLException e) {
                    notes.add("could not remove database " + db + ", left by an interrupted logical restore: " + e.getMessage().split("\n")[0]);
                }
            }
        }
        return notes;
    }

    /** The dump directories under {@code tmp} whose restore ran on this host and is gone; nothing is removed. */
    static List<Path> deadWorkDirectories(Path tmp) {
        List<Path> dead = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp, DIRECTORY_PREFIX + "*")) {
            for (Path p : entries) {
                if (ownerDead(p.getFileName().toString().substring(DIRECTORY_PREFIX.length())).orElse(false)) {
                    dead.add(p);
                }
            }
        } catch (IOException e) {
            // an unreadable temporary directory: nothing to name
        }
        return dead;
    }

    /** Removes the dump directories of dead restores under {@code tmp}; one line per directory removed. */
    static List<String> cleanWorkDirectories(Path tmp) {
        return clean(tmp, DIRECTORY_PREFIX, "logical restore");
    }

    /**
     * Removes the directory-format dumps of dead parallel logical backups under {@code tmp} (a
     * backup killed while pg_dump wrote one, or before it stored it); one line per directory removed.
     */
    static List<String> cleanDumpDirectories(Path tmp) {
        return clean(tmp, DUMP_PREFIX, "logical backup");
    }

    private static List<String> clean(Path tmp, String prefix, String what) {
        List<String> notes = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp, prefix + "*")) {
            for (Path p : entries) {
                String rest = p.getFileName().toString().substring(prefix.length());
                if (ownerDead(rest).orElse(false) && Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        FileTrees.delete(p);
                        notes.add("removed " + p + ", the dump an interrupted " + what + " left");
                    } catch (IOException | RuntimeException e) {
                        notes.add("could not remove " + p + ", the dump an interrupted " + what + " left: " + e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            // an unreadable temporary directory holds nothing we could remove
        }
        return notes;
    }
}
