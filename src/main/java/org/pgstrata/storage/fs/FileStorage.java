package org.pgstrata.storage.fs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.pgstrata.api.FileTrees;
import org.pgstrata.storage.LockLostException;
import org.pgstrata.storage.LockedException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * A repository in a local directory. Objects are written to a temporary name beside their final
 * one, fsynced, renamed into place, and the directory fsynced, so an object either exists whole
 * or not at all, even across a power loss. The lock is an OS file lock (fcntl) on "lock", which
 * the kernel releases when the holding process dies, so a killed backup never leaves a stale lock.
 */
public final class FileStorage implements Storage {
    private static final String TEMP_SUFFIX = ".pgstrata-tmp";
    private static final AtomicLong TEMP_COUNTER = new AtomicLong();

    private final Path root;
    /**
     * Repository content holds table data: readable by the owner's group at most, never by others
     * (PostgreSQL's own group access mode, 0750/0640). The umask still applies, so a stricter one
     * (077) keeps it owner-only.
     */
    public static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---"));
    public static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----"));

    public FileStorage(Path root) {
        this.root = root.toAbsolutePath().normalize();
        org.pgstrata.api.PermissionDenied.repository(this.root);
    }

    public Path root() {
        return root;
    }

    private Path resolve(String key) {
        return root.resolve(Storage.checkedKey(key));
    }

    /**
     * Creates {@code temp} beside {@code target}, making the directory first. Another process's
     * delete prunes directories it leaves empty, and may remove this one between the two calls:
     * then it is made again.
     */
    private FileChannel openTemporary(Path target, Path temp) throws IOException {
        for (int attempt = 1; ; attempt++) {
            createDirectories(target.getParent());
            try {
                return FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE);
            } catch (NoSuchFileException e) {
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    @Override
    public ObjectWriter create(String key) throws IOException {
        Path target = resolve(key);
        Path temp = target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid() + "."
                + TEMP_COUNTER.incrementAndGet() + TEMP_SUFFIX);
        FileChannel channel = openTemporary(target, temp);
        OutputStream out = new NamingOutputStream(Channels.newOutputStream(channel), target);
        return new ObjectWriter() {
            private boolean committed;
            private boolean closed;

            @Override
            public OutputStream stream() {
                return out;
            }

            @Override
            public long commit() throws IOException {
                long size = durableTemp();
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("the file system under " + root + " cannot rename atomically", e);
                }
                fsyncDirectory(target.getParent());
                committed = true;
                return size;
            }

            /**
             * link(2) gives the durable temporary file its final name only if that name is free,
             * atomically (rename(2) would replace). Then the temporary name goes; a crash in
             * between leaves it as a second name of the same file, which is never listed.
             */
            @Override
            public boolean commitIfAbsent() throws IOException {
                durableTemp();
                try {
                    Files.createLink(target, temp);
                } catch (FileAlreadyExistsException e) {
                    return false; // close() removes the temporary file
                } catch (UnsupportedOperationException e) {
                    throw new IOException("the file system under " + root + " cannot make hard links, which a write that must not "
                            + "replace an existing object needs", e);
                }
                Files.delete(temp);
                fsyncDirectory(target.getParent());
                committed = true;
                return true;
            }

            private long durableTemp() throws IOException {
                out.flush();
                long size = channel.size();
                try {
                    channel.force(true);
                } catch (IOException e) {
                    throw NamingOutputStream.named(e, target);
                }
                channel.close();
                return size;
            }

            @Override
            public void close() throws IOException {
                if (closed) {
                    return;
                }
                closed = true;
                if (!committed) {
                    channel.close();
                    Files.deleteIfExists(temp);
                }
            }
        };
    }

    @Override
    public InputStream get(String key) throws IOException {
        try {
            return Files.newInputStream(object(key));
        } catch (NoSuchFileException e) {
            throw new ObjectNotFoundException(key, describe());
        }
    }

    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(object(key), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ObjectNotFoundException(key, describe());
        }
        ch.position(offset);
        InputStream in = Channels.newInputStream(ch);
        return new InputStream() {
            private long left = length;

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int b = in.read();
                if (b >= 0) {
                    left--;
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    @Override
    public long size(String key) throws IOException {
        try {
            return Files.size(object(key));
        } catch (NoSuchFileException e) {
            throw new ObjectNotFoundException(key, describe());
        }
    }

    /**
     * The file of an object that is read: a directory in its place is no object, as {@link #exists}
     * says (reading it would fail with a bare "Is a directory" that names no file).
     */
    private Path object(String key) throws IOException {
        Path p = resolve(key);
        if (Files.isDirectory(p)) {
            throw new NoSuchFileException(p.toString());
        }
        return p;
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            return Files.readAttributes(resolve(key), BasicFileAttributes.class).isRegularFile();
        } catch (AccessDeniedException e) {
            throw e; // not "absent": a repository another user owns must not look empty
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Whether {@code dir} is a directory; unlike {@link Files#isDirectory}, a directory this user
     * may not see is an error, not "absent" (a WAL archive that looked empty would end recovery).
     */
    private static boolean isDirectory(Path dir) throws IOException {
        try {
            return Files.readAttributes(dir, BasicFileAttributes.class).isDirectory();
        } catch (AccessDeniedException e) {
            throw e;
        } catch (IOException e) {
            return false;
        }
    }

    /** The root directory's entries, without temporary files. */
    @Override
    public List<String> topLevelNames() throws IOException {
        if (!isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(root)) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(TEMP_SUFFIX)).sorted().toList();
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        if (!isDirectory(root)) {
            return keys;
        }
        // Walk only the directory the prefix points into, then filter by the full prefix.
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!isDirectory(start)) {
            return keys;
        }
        // Another process may remove a directory while we walk it (a deleted backup): walk again.
        for (int attempt = 0; ; attempt++) {
            keys.clear();
            try (Stream<Path> walk = Files.walk(start)) {
                walk.filter(Files::isRegularFile).forEach(p -> {
                    String key = root.relativize(p).toString().replace('\\', '/');
                    if (key.startsWith(prefix) && !key.endsWith(TEMP_SUFFIX)) {
                        keys.add(key);
                    }
                });
                break;
            } catch (java.io.UncheckedIOException | NoSuchFileException e) {
                if (!isDirectory(start)) {
                    keys.clear();
                    return keys;
                }
                if (attempt >= 3) {
                    throw e instanceof java.io.UncheckedIOException u ? u.getCause() : (IOException) e;
                }
            }
        }
        keys.sort(null);
        return keys;
    }

    @Override
    public void delete(String key) throws IOException {
        Path p = resolve(key);
        Files.deleteIfExists(p);
        pruneEmpty(p.getParent());
    }

    /** Drops {@code dir} and its parents while they are empty, up to the root, so a deleted backup leaves no trace. */
    private void pruneEmpty(Path dir) throws IOException {
        while (dir != null && !dir.equals(root) && dir.startsWith(root)) {
            try {
                if (!FileTrees.isEmpty(dir)) {
                    break;
                }
            } catch (NoSuchFileException e) {
                dir = dir.getParent();
                continue;
            }
            try {
                Files.delete(dir);
            } catch (IOException e) {
                break;
            }
            dir = dir.getParent();
        }
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        for (String key : list(prefix)) {
            delete(key);
        }
        // Leftover temporary files of killed writers are not listed as objects; remove them too.
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!isDirectory(start)) {
            return;
        }
        List<Path> leftovers;
        try (Stream<Path> walk = Files.walk(start)) {
            leftovers = walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(TEMP_SUFFIX)
                    && root.relativize(p).toString().startsWith(prefix)).toList();
        }
        for (Path p : leftovers) {
            delete(root.relativize(p).toString());
        }
        if (prefix.endsWith("/")) {
            pruneEmpty(start); // a directory that held nothing to delete (emptyDirectories) goes too
        }
    }

    @Override
    public List<String> emptyDirectories(String prefix) throws IOException {
        Path dir = root.resolve(prefix);
        List<String> empty = new ArrayList<>();
        if (!prefix.endsWith("/") || !isDirectory(dir)) {
            return empty;
        }
        List<Path> children;
        try (Stream<Path> entries = Files.list(dir)) {
            children = entries.toList();
        } catch (NoSuchFileException e) {
            return empty;
        }
        for (Path c : children) {
            try {
                if (isDirectory(c) && FileTrees.isEmpty(c)) {
                    empty.add(prefix + c.getFileName() + "/");
                }
            } catch (NoSuchFileException e) {
                // removed meanwhile
            }
        }
        empty.sort(null);
        return empty;
    }

    @Override
    public void deleteTemporary(String prefix, java.time.Instant before, IoAction beforeDeleting) throws IOException {
        Path start = root.resolve(prefix);
        if (!isDirectory(start)) {
            return;
        }
        List<Path> leftovers;
        try (Stream<Path> walk = Files.walk(start)) {
            leftovers = walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(TEMP_SUFFIX)
                    && (before == null || writtenBefore(p, before))).toList();
        }
        if (!leftovers.isEmpty()) {
            beforeDeleting.run();
        }
        for (Path p : leftovers) {
            Files.deleteIfExists(p);
        }
    }

    /** Whether {@code p} was last written before {@code before} (a file gone meanwhile was not). */
    private static boolean writtenBefore(Path p, java.time.Instant before) {
        try {
            return Files.getLastModifiedTime(p).toInstant().isBefore(before);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public List<String> unfinishedWrites(String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        for (Path p : leftoverTemporaryFiles()) {
            String key = root.relativize(p).toString().replace('\\', '/');
            if (key.startsWith(prefix)) {
                keys.add(key);
            }
        }
        keys.sort(null);
        return keys;
    }

    /** Temporary files left by a writer that was killed; they are never listed as objects. */
    public List<Path> leftoverTemporaryFiles() throws IOException {
        if (!isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(TEMP_SUFFIX)).toList();
        }
    }

    @Override
    public RepositoryLock lock(String holder) throws IOException {
        createDirectories(root);
        Path lockFile = root.resolve("lock");
        Object before = inode(lockFile);
        FileChannel ch = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE), FILE_MODE);
        FileLock lock;
        boolean inThisProcess = false;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
            inThisProcess = true;
        }
        if (lock == null) {
            ch.close();
            String who = holder(lockFile, inThisProcess ? java.time.Duration.ZERO : HOLDER_NAME_WAIT);
            throw new LockedException(describe(), who.isEmpty() ? "another process" : who);
        }
        // The file we locked must be the one at the path: one removed and made again around our
        // open would be locked by its own holder too. Only stat(2) here: opening and closing the
        // file once more would release this process's fcntl lock on it (POSIX).
        Object inode = inode(lockFile);
        if (inode == null || before != null && !before.equals(inode)) {
            lock.release();
            ch.close();
            throw new LockedException(describe(), "another process (" + lockFile + " was replaced while this one locked it)");
        }
        ch.truncate(0);
        try {
            ch.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(true);
        } catch (IOException e) {
            // The holder's name only tells another command who holds the lock; the fcntl lock is
            // the lock. A full file system (or quota, or file size limit: the system's words for
            // them depend on its language) has no block for it: the commands that free space there
            // (expire, delete) must still run, so the lock goes without its name.
            try {
                ch.truncate(0);
            } catch (IOException t) {
                t.addSuppressed(e);
                lock.release();
                ch.close();
                throw t;
            }
        }
        return new HeldLock(lockFile, inode, ch, lock);
    }

    /**
     * How long a command refused the lock waits for the holder's name: the holder writes it just
     * after it locks, and a command started at the same moment found the file still empty and
     * named no one. A holder that could not write it (a full file system) stays unnamed.
     */
    static final java.time.Duration HOLDER_NAME_WAIT = java.time.Duration.ofSeconds(1);

    /** The holder's name in {@code lockFile}, read again while it is empty for at most {@code wait}; empty when none. */
    private static String holder(Path lockFile, java.time.Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            String who;
            try {
                who = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                who = "";
            }
            if (!who.isEmpty() || System.nanoTime() - deadline >= 0) {
                return who;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return who;
            }
        }
    }

    /**
     * An fcntl lock is held on a file, not on a path: if someone removes {@code lock} (thinking
     * it stale) and another process locks the new file at that path, both hold "the" lock. So the
     * holder checks that the path still names the file it locked.
     */
    private final class HeldLock implements RepositoryLock {
        private final Path path;
        private final Object inode;
        private final FileChannel channel;
        private final FileLock lock;
        private volatile String lost;

        HeldLock(Path path, Object inode, FileChannel channel, FileLock lock) {
            this.path = path;
            this.inode = inode;
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void check() throws IOException {
            if (lost == null) {
                Object now = inode(path);
                if (!inode.equals(now)) {
                    // Reading is safe now: the path names another file than the one this process locked.
                    String who = now == null ? "" : new String(readOrEmpty(path), StandardCharsets.UTF_8).trim();
                    lost = "the lock file " + path + " was " + (now == null ? "removed" : "replaced")
                            + (who.isEmpty() ? "" : " and is now held by " + who) + " while this command held it";
                }
            }
            if (lost != null) {
                throw new LockLostException(lost);
            }
        }

        @Override
        public void close() throws IOException {
            if (lock.isValid()) {
                channel.truncate(0); // the file we locked, wherever its name went
                lock.release();
            }
            channel.close();
        }
    }

    /** The file's identity (device and inode), or null when it does not exist. */
    private static Object inode(Path p) throws IOException {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static byte[] readOrEmpty(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /**
     * Nothing to probe: {@code commitIfAbsent} is link(2), which the kernel refuses when the name
     * exists, on every file system (one without hard links fails the write instead). A probe would
     * only write into the repository, and fail verify on one that is full or read-only.
     */
    @Override
    public void checkConditionalWrites() {
    }

    @Override
    public String describe() {
        return root.toString();
    }

    @Override
    public void close() {
    }

    /** Creates missing directories (owner-only), without a system call for those that exist. */
    private void createDirectories(Path dir) throws IOException {
        if (isDirectory(dir)) {
            return;
        }
        Path parent = dir.getParent();
        if (parent != null && !isDirectory(parent)) {
            createDirectories(parent);
        }
        try {
            Files.createDirectory(dir, DIR_MODE);
            // The new entry must be durable too, or an fsynced object in it could vanish with it.
            if (parent != null) {
                fsyncDirectory(parent);
            }
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // made by a concurrent writer: fine
        }
    }

    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** ENOSPC, EDQUOT or EFBIG, as the JDK words them: there is no room to write, which freeing space cures. */
    public static boolean noRoom(IOException e) {
        return noRoom(String.valueOf(e.getMessage()));
    }

    /** Whether {@code text} (an error, a server's log) gives the system's reason for a lack of room ({@link #noRoom(IOException)}). */
    public static boolean noRoom(String text) {
        return NO_ROOM.stream().anyMatch(text::contains);
    }

    /** ENOSPC, EDQUOT and EFBIG in the system's (and PostgreSQL's) words. */
    public static final List<String> NO_ROOM = List.of("No space left on device", "Disk quota exceeded", "File too large");

    /**
     * The operating system says a failed write's reason without the file ("No space left on
     * device"): said alone, it does not tell the repository from the data directory or TMPDIR.
     * This names the object's file in it.
     */
    static final class NamingOutputStream extends java.io.FilterOutputStream {
        private final Path file;

        NamingOutputStream(OutputStream out, Path file) {
            super(out);
            this.file = file;
        }

        static IOException named(IOException e, Path file) {
            if (e instanceof java.nio.file.FileSystemException || e instanceof java.nio.channels.ClosedChannelException) {
                return e; // already names its file, or an interrupt/close that callers recognise by type
            }
            java.nio.file.FileSystemException named = new java.nio.file.FileSystemException(file.toString(), null, e.getMessage());
            named.initCause(e);
            return named;
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                throw named(e, file);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                throw named(e, file);
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                throw named(e, file);
            }
        }
    }
}
