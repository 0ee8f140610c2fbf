package org.pgstrata.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.DirectoryEntry;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.postgres.VersionDirectory;

/**
 * An existing data directory that a delta restore turns into the backup's, writing only what
 * differs.
 *
 * <p>How a file is compared: when its size matches, the local file is read once and its XXH64 is
 * compared with the whole-content checksum the manifest records (the same trust the backup's own
 * "unchanged" entries rest on); equal files are not touched and cost no repository read. Every
 * other file gets the backup's content streamed through {@link DeltaSink}, which reads the local
 * bytes at the same offset and rewrites only the 8 KiB blocks whose bytes differ, then cuts the
 * file to size. The backup's object is read to its end (its stored checksum is checked), but of a
 * file stored in frames only the frames holding a block that differs by the block map are
 * decompressed ({@link LocalFrames}); the others' content is the local file's own. The same
 * checksum check that a full restore makes then covers the whole result, so no block is kept on
 * the strength of a 64-bit hash alone.
 *
 * <p>While it works, global/pg_control is moved aside (to {@link #CONTROL_ASIDE}) and written
 * back last: a directory that a failed or killed delta restore left half-done refuses to start,
 * and running the restore again finds the system identifier there.
 */
final class DeltaTarget {
    /**
     * Where pg_control waits while a restore works (a delta restore's old one; a restore into a new
     * directory writes the backup's there first); its presence means "unfinished", and a delta
     * restore finishes such a directory.
     */
    static final String CONTROL_ASIDE = org.pgstrata.db.LocalCluster.UNFINISHED_RESTORE_CONTROL;
    static final String CONTROL = "global/pg_control";
    /** The only links followed: tablespaces and a pg_wal kept on another disk, as PostgreSQL itself follows them. */
    private static final Pattern FOLLOWED_LINK = Pattern.compile("pg_wal|pg_tblspc/\\d+");

    private DeltaTarget() {
    }

    /**
     * Refuses, before anything changes, a directory that a delta restore of {@code m} must not
     * write: not a data directory, a server running on it, another system's or another major
     * version's.
     */
    static void check(Path dir, Manifest m) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot delta-restore into " + dir + ": it is not a directory",
                    "name the data directory of the stopped cluster, or leave out --delta to restore into a new directory");
        }
        Path control = Files.isRegularFile(dir.resolve(CONTROL)) ? dir.resolve(CONTROL) : dir.resolve(CONTROL_ASIDE);
        // A restore into a new directory killed while it wrote the files holds the backup's pg_control set aside and not yet
        // PG_VERSION (written among the last, smallest first): that is the unfinished restore which a delta restore finishes.
        boolean unfinished = control.endsWith(CONTROL_ASIDE) && !Files.exists(dir.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS);
        if (!(Files.isRegularFile(dir.resolve("PG_VERSION")) || unfinished) || !Files.isRegularFile(control)) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot delta-restore into " + dir
                    + ": it is not a PostgreSQL data directory (no PG_VERSION or global/pg_control); nothing was changed",
                    "name the cluster's data directory, or restore without --delta into an empty or new directory");
        }
        Optional<String> running = runningServer(dir);
        if (running.isPresent()) {
            throw new PgstrataException(ErrorCode.SERVER_RUNNING, "cannot delta-restore into " + dir + ": " + running.get()
                    + "; nothing was changed", "stop the server first (pg_ctl stop -D " + org.pgstrata.api.Self.quote(dir.toString()) + ")");
        }
        String sysid;
        String major;
        try {
            sysid = ControlFile.parse(Files.readAllBytes(control)).systemIdentifierText();
            major = unfinished ? Integer.toString(m.pgMajor()) : Files.readString(dir.resolve("PG_VERSION")).trim();
        } catch (IOException | IllegalArgumentException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot delta-restore into " + dir + ": cannot read " + control + " ("
                    + e.getMessage() + "); nothing was changed", "restore without --delta into an empty or new directory");
        }
        if (!sysid.equals(m.systemIdentifier())) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "cannot delta-restore backup " + m.id() + " into " + dir
                    + ": the directory belongs to system " + sysid + ", the backup to system " + m.systemIdentifier() + "; nothing was changed",
                    "a delta restore only goes back into the same cluster; restore without --delta into an empty or new directory");
        }
        if (!major.equals(Integer.toString(m.pgMajor()))) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "cannot delta-restore backup " + m.id() + " (PostgreSQL " + m.pgMajor()
                    + ") into " + dir + ", which holds PostgreSQL " + major + "; nothing was changed",
                    "restore without --delta into an empty or new directory");
        }
        for (Tablespaces.Tablespace t : Tablespaces.of(m)) {
            Path link = dir.resolve("pg_tblspc").resolve(t.oid());
            if (t.location() != null && Files.isSymbolicLink(link) && !Files.isDirectory(link)) {
                // Most often a file system that is not mounted: written through nothing, the tablespace would land inside
                // the data directory (on its disk) in place of the link, silently.
                String to;
                try {
                    to = Files.readSymbolicLink(link).toString();
                } catch (IOException e) {
                    to = "a location that cannot be read";
                }
                throw new PgstrataException(ErrorCode.NOT_FOUND, "cannot delta-restore into " + dir + ": tablespace " + t.oid()
                        + "'s link pg_tblspc/" + t.oid() + " leads to " + to + ", which is not a directory; nothing was changed",
                        "mount the file system that holds it (or put the link right); to have the tablespace restored inside the data"
                        + " directory instead, remove the link");
            }
        }
        refuseLinksIntoRunningServers(dir, m, major);
    }

    /**
     * A copy of a data directory (cp -a) keeps its links: to the source's tablespace locations, or
     * to its pg_wal kept on another disk. Written through, they would change a running server's
     * files. Refused when a postgres of the same major version works in a data directory that
     * links to the same place.
     */
    private static void refuseLinksIntoRunningServers(Path dir, Manifest m, String major) {
        Map<Path, String> written = new java.util.LinkedHashMap<>(); // where each link of ours leads -> which link
        for (Tablespaces.Tablespace t : Tablespaces.of(m)) {
            realLinkTarget(dir.resolve("pg_tblspc").resolve(t.oid())).ifPresent(r -> written.put(r, "tablespace link pg_tblspc/" + t.oid()));
        }
        realLinkTarget(dir.resolve("pg_wal")).ifPresent(r -> written.put(r, "link pg_wal"));
        if (written.isEmpty()) {
            return;
        }
        Path self;
        try {
            self = dir.toRealPath();
        } catch (IOException e) {
            return;
        }
        Set<Path> seen = new HashSet<>();
        for (org.pgstrata.db.PostmasterPid.Working w : org.pgstrata.db.PostmasterPid.postgresProcesses()) {
            Path other = w.dataDirectory();
            if (other.equals(self) || !seen.add(other) || !sameMajor(other, major)) {
                continue;
            }
            List<Path> theirs = new java.util.ArrayList<>();
            theirs.add(other.resolve("pg_wal"));
            try (DirectoryStream<Path> links = Files.newDirectoryStream(other.resolve("pg_tblspc"))) {
                links.forEach(theirs::add);
            } catch (IOException e) {
                // none, or not ours to read
            }
            for (Path t : theirs) {
                Path real;
                try {
                    real = t.toRealPath();
                } catch (IOException e) {
                    continue;
                }
                String ours = written.get(real);
                if (ours != null) {
                    throw new PgstrataException(ErrorCode.SERVER_RUNNING, "cannot delta-restore into " + dir + ": its " + ours + " leads to "
                            + real + ", which the server running in " + other + " (postgres process " + w.pid() + ") uses; nothing was changed",
                            "stop that server, or point the link at this cluster's own location (a copy made with cp -a keeps the source's links)");
                }
            }
        }
    }

    /** Where the link {@code link} leads, resolved, when it is a link to a directory. */
    private static Optional<Path> realLinkTarget(Path link) {
        try {
            return Files.isSymbolicLink(link) && Files.isDirectory(link) ? Optional.of(link.toRealPath()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether the data directory {@code other} is of major version {@code major}; what cannot be read counts as the same. */
    private static boolean sameMajor(Path other, String major) {
        try {
            return Files.readString(other.resolve("PG_VERSION")).trim().equals(major);
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Whether {@code path} of a manifest lies in another major version's directory of a tablespace
     * location: a backup taken before backups left those out lists another cluster's files there,
     * which a delta restore in place must not write.
     */
    static boolean foreign(String path, int major) {
        return VersionDirectory.isForeignPath(path, Integer.toString(major));
    }

    /**
     * Why a server counts as running on {@code dir}, or empty. A postmaster.pid whose pid is gone,
     * or belongs to a process that is not a postgres running in this directory, is stale: a
     * crashed server leaves one behind. What cannot be read counts as running.
     */
    static Optional<String> runningServer(Path dir) {
        Optional<String> byPidFile = runningByPidFile(dir);
        if (byPidFile.isPresent()) {
            return byPidFile;
        }
        // postmaster.pid removed by hand or by a cleanup script: the server notices only at its next check, up to a minute later
        return org.pgstrata.db.PostmasterPid.postgresWorkingIn(dir).map(pid -> "a server is running there (postgres process " + pid
                + " works in the directory, though postmaster.pid is gone)");
    }

    private static Optional<String> runningByPidFile(Path dir) {
        Path pidFile = dir.resolve("postmaster.pid");
        List<String> lines;
        try {
            lines = Files.readAllLines(pidFile);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot read " + pidFile + " (" + e.getMessage() + ") to tell whether a server runs there");
        }
        long pid;
        try {
            pid = Long.parseLong(lines.get(0).trim());
        } catch (RuntimeException e) {
            // The postmaster writes the file in one go; an empty or odd one is no proof of anything: refuse.
            return Optional.of(pidFile + " does not start with a process id, so a server may be starting there");
        }
        Optional<ProcessHandle> process = ProcessHandle.of(Math.abs(pid));
        if (process.isEmpty() || !process.get().isAlive()) {
            return Optional.empty();
        }
        Path proc = Path.of("/proc", Long.toString(Math.abs(pid)));
        try {
            String comm = Files.readString(proc.resolve("comm")).trim();
            if (!comm.equals("postgres") && !comm.equals("postmaster")) {
                return Optional.empty(); // the pid was reused by another program
            }
        } catch (IOException e) {
            return Optional.of("postmaster.pid names process " + pid + ", which is alive");
        }
        // The postmaster works in its data directory: another cluster's postmaster that got the old pid works elsewhere.
        // Where that cannot be told, assume this one.
        if (!org.pgstrata.db.PostmasterPid.worksIn(Math.abs(pid), dir).orElse(true)) {
            return Optional.empty();
        }
        return Optional.of("a server is running there (postgres process " + pid + " in postmaster.pid)");
    }

    /**
     * The symbolic links at the top of {@code dir} (postgresql.conf, pg_hba.conf ... kept elsewhere,
     * under /etc) where the backup has a file: the backup stored the file each led to, and a
     * delta restore puts that back as a plain file, as pgBackRest restores file links by default.
     * It writes nothing outside the data directory, where the file may since have been changed on
     * purpose. Each link, by its path, with where it leads.
     */
    static Map<Path, Path> fileLinks(Path dir, Manifest m) throws IOException {
        Set<String> topFiles = new HashSet<>();
        for (FileEntry f : m.files()) {
            if (!f.path().contains("/")) {
                topFiles.add(f.path());
            }
        }
        Map<Path, Path> links = new java.util.TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (Files.isSymbolicLink(p) && topFiles.contains(p.getFileName().toString())) {
                    links.put(p, Files.readSymbolicLink(p));
                }
            }
        }
        return links;
    }

    /**
     * Sets pg_control aside and removes everything the backup does not have: files, links and
     * directories, the old pg_wal and archive status, postmaster.pid, recovery and standby signals.
     * What the restore writes itself (WAL of the backup, its archive status) is kept to be compared.
     * Returns the number of files and links removed.
     */
    static long prepare(Path dir, Manifest m) throws IOException {
        Path control = dir.resolve(CONTROL);
        Path aside = dir.resolve(CONTROL_ASIDE);
        if (Files.isRegularFile(control, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(control); // an earlier run got as far as writing it: it is written again at the end
            } else {
                Files.move(control, aside, StandardCopyOption.ATOMIC_MOVE);
            }
            fsync(dir.resolve("global"));
        }
        Set<String> files = new HashSet<>();
        for (FileEntry f : m.files()) {
            files.add(f.path());
        }
        for (WalEntry w : m.wal()) {
            files.add("pg_wal/" + w.name());
            files.add("pg_wal/archive_status/" + w.name() + ".done");
        }
        files.add(CONTROL_ASIDE);
        Set<String> dirs = new HashSet<>();
        for (DirectoryEntry d : m.directories()) {
            dirs.add(d.path());
        }
        if (!m.wal().isEmpty()) {
            dirs.add("pg_wal");
            dirs.add("pg_wal/archive_status");
        }
        AtomicLong removed = new AtomicLong();
        clean(dir, "", files, dirs, Integer.toString(m.pgMajor()), removed);
        return removed.get();
    }

    private static void clean(Path dir, String rel, Set<String> files, Set<String> dirs, String ownMajor, AtomicLong removed)
            throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String r = rel.isEmpty() ? p.getFileName().toString() : rel + "/" + p.getFileName();
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    if (dirs.contains(r) && FOLLOWED_LINK.matcher(r).matches() && Files.isDirectory(p)) {
                        clean(p, r, files, dirs, ownMajor, removed);
                    } else {
                        Files.delete(p); // the link only, never what it points at
                        removed.incrementAndGet();
                    }
                } else if (a.isDirectory()) {
                    if (VersionDirectory.isForeignEntry(rel, p.getFileName().toString(), ownMajor)) {
                        continue; // another major version's cluster shares the tablespace location (as pg_upgrade's do): not ours
                    }
                    if (dirs.contains(r)) {
                        clean(p, r, files, dirs, ownMajor, removed);
                    } else {
                        removeTree(p, removed);
                    }
                } else if (!a.isRegularFile() || !files.contains(r)) {
                    Files.delete(p);
                    removed.incrementAndGet();
                }
            }
        }
    }

    private static void removeTree(Path dir, AtomicLong removed) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    removeTree(p, removed);
                } else {
                    Files.delete(p);
                    removed.incrementAndGet();
                }
            }
        }
        Files.delete(dir);
    }

    /**
     * Whether {@code out} already holds exactly {@code size} bytes with checksum {@code checksum}
     * (then it needs no write and the backup need not be read for it).
     */
    static boolean same(Path out, long size, String checksum) throws IOException {
        if (!Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS) || Files.size(out) != size) {
            return false;
        }
        Checksum digest = Checksum.like(checksum);
        try (InputStream in = Files.newInputStream(out, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[1 << 17];
            int n;
            while ((n = in.read(buf)) >= 0) {
                digest.update(buf, 0, n);
            }
        }
        return digest.hex().equals(checksum);
    }

    /**
     * For a file that differs: the frames of the backup's object whose every block the local file
     * already holds, by the backup's block map (XXH64 of each 8 KiB block, the last one possibly
     * short), are taken from the local file instead of being decompressed. A frame is used only
     * whole and only within the local file; the content's checksum over the result (the same
     * check as for any restored file) still decides, so a local block that matched by a 64-bit
     * hash and not by its bytes fails the restore rather than stay. That holds only for a checksum
     * over the bytes: a file whose checksum is in block form is never restored this way
     * ({@link #checkedBy}).
     */
    static final class LocalFrames implements org.pgstrata.manifest.ZstdFrames.Substitute {
        private final Path file;
        private final long[] hashes;
        private final long size;
        private final AtomicLong reused;

        /**
         * Whether a file whose manifest records {@code checksum} may have frames substituted: only
         * when that checksum is over the content's bytes. A checksum in block form ({@link
         * Checksum#BLOCKS_PREFIX}) is computed from the blocks' XXH64s, the very hashes a frame is
         * chosen by, so a local block that matched by its hash and not by its bytes would pass it.
         */
        static boolean checkedBy(String checksum) {
            return !Checksum.isBlockForm(checksum);
        }

        LocalFrames(Path file, long[] hashes, long size, AtomicLong reused) {
            this.file = file;
            this.hashes = hashes;
            this.size = size;
            this.reused = reused;
        }

        @Override
        public byte[] content(long offset, int length) throws IOException {
            if (offset % BLOCK != 0 || offset + length > size || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
                    || Files.size(file) < offset + length) {
                return null;
            }
            byte[] b = new byte[length];
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.wrap(b);
                while (buf.hasRemaining()) {
                    if (ch.read(buf, offset + buf.position()) < 0) {
                        return null;
                    }
                }
            }
            for (int off = 0; off < length; off += BLOCK) {
                int n = Math.min(BLOCK, length - off);
                long block = (offset + off) / BLOCK;
                // The backup's short last block is hashed short; elsewhere a short tail is no block of the map.
                if (block >= hashes.length || (n < BLOCK && offset + off + n != size)
                        || org.pgstrata.manifest.BlockMap.hash(b, off, n) != hashes[(int) block]) {
                    return null;
                }
            }
            reused.addAndGet(length);
            return b;
        }
    }

    private static final int BLOCK = 8192;

    static void fsync(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /**
     * Takes a file's content in order and writes, into the existing file, only the 8 KiB blocks
     * whose bytes differ from what is there; {@link #finish} cuts the file to the content's length.
     */
    static final class DeltaSink extends org.pgstrata.manifest.ChunkingOutputStream {
        private static final int CHUNK = 16 * BLOCK;
        private final FileChannel ch;
        private final ByteBuffer local = ByteBuffer.allocate(CHUNK);
        private long pos;
        private long written;

        DeltaSink(FileChannel ch) {
            super(new byte[CHUNK]);
            this.ch = ch;
        }

        @Override
        protected void full() throws IOException {
            flushChunk();
        }

        private void flushChunk() throws IOException {
            local.clear().limit(fill);
            while (local.hasRemaining() && ch.read(local, pos + local.position()) >= 0) {
                // read what the file has at this offset
            }
            int have = local.position();
            for (int off = 0; off < fill; off += BLOCK) {
                int len = Math.min(BLOCK, fill - off);
                boolean equal = off + len <= have && Arrays.equals(chunk, off, off + len, local.array(), off, off + len);
                if (!equal) {
                    ByteBuffer w = ByteBuffer.wrap(chunk, off, len);
                    while (w.hasRemaining()) {
                        ch.write(w, pos + off + (w.position() - off));
                    }
                    written += len;
                }
            }
            pos += fill;
            fill = 0;
        }

        /** Writes what is left, cuts the file to the content's length, and makes it durable; true if anything changed. */
        boolean finish() throws IOException {
            if (fill > 0) {
                flushChunk();
            }
            boolean cut = ch.size() > pos;
            if (cut) {
                ch.truncate(pos);
            }
            ch.force(true);
            return cut || written > 0;
        }

        long written() {
            return written;
        }
    }
}
