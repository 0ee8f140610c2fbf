package org.pgstrata.wal;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.RepoIdentity;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.WalSegmentHeader;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageFactory;
import org.pgstrata.storage.fs.FileStorage;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.api.Self;

/**
 * archive_command: pushes one WAL file into the repository's archive, then (by default) every
 * other file that pg_wal/archive_status marks ready, oldest first, so that one process start
 * serves many segments; PostgreSQL's later calls for those find them archived and return at
 * once. Nothing here loads a command-line or JSON framework.
 */
public final class WalPush {
    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    private static final Pattern PARTIAL = Pattern.compile("[0-9A-F]{24}\\.partial");
    private static final Pattern BACKUP_HISTORY = Pattern.compile("[0-9A-F]{24}\\.[0-9A-F]{8}\\.backup");
    private static final Pattern HISTORY = Pattern.compile("[0-9A-F]{8}\\.history");

    /** What one run pushed: the requested file's outcome, and the ready files pushed with it. */
    public record Result(String name, WalArchive.PutOutcome outcome, List<String> alsoPushed, List<String> warnings) {
    }

    private WalPush() {
    }

    public static boolean isArchivable(String name) {
        return SEGMENT.matcher(name).matches() || PARTIAL.matcher(name).matches() || BACKUP_HISTORY.matcher(name).matches()
                || HISTORY.matcher(name).matches();
    }

    public static Result push(String repo, Path file, boolean batch, Compression compression) {
        String name = file.getFileName().toString();
        if (!isArchivable(name)) {
            throw new PgstrataException(ErrorCode.USAGE, "'" + name + "' is not a WAL segment, timeline history, .partial or backup history file",
                    "archive_command should pass %p");
        }
        try (RepoIdentity.Opened opened = RepoIdentity.open(repo)) {
            Storage storage = opened.storage();
            String sysid = opened.systemIdentifier();
            if (sysid == null) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "no pgstrata repository at " + storage.describe() + " to archive " + name + " into",
                        noRepositoryHint(storage.describe(), "archive_command"));
            }
            WalArchive archive = new WalArchive(storage);
            dropNote(repo, file, name);
            List<String> also = java.util.Collections.synchronizedList(new ArrayList<>());
            List<String> warnings = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Path> ready = batch ? readyFiles(file, name) : List.of();
            if (ready.isEmpty()) {
                WalArchive.PutOutcome o = pushOne(archive, file, sysid, compression, THREADS, null);
                archive.storedAgainWarning(o, name, "this file").ifPresent(warnings::add);
                return new Result(name, o, also, warnings);
            }
            // Several files: one per thread, the requested one first. Each becomes visible only after
            // the one before it, and none after one that failed: PostgreSQL archives in order and
            // retries a failed file, so the archive never holds a later segment without an earlier
            // one (a gap that verify reports and recovery cannot pass), however the pushes end.
            Path spool = spoolDirectory(repo, file.toAbsolutePath().getParent());
            List<java.util.concurrent.CompletableFuture<Boolean>> archived = new ArrayList<>();
            for (int i = 0; i <= ready.size(); i++) {
                archived.add(new java.util.concurrent.CompletableFuture<>());
            }
            List<java.util.concurrent.Callable<WalArchive.PutOutcome>> tasks = new ArrayList<>();
            tasks.add(() -> {
                try {
                    WalArchive.PutOutcome o = pushOne(archive, file, sysid, compression, 1, null);
                    archived.get(0).complete(true);
                    archive.storedAgainWarning(o, name, "this file").ifPresent(warnings::add);
                    return o;
                } finally {
                    archived.get(0).complete(false); // no effect once it is true
                }
            });
            for (int i = 0; i < ready.size(); i++) {
                Path r = ready.get(i);
                java.util.concurrent.CompletableFuture<Boolean> before = archived.get(i);
                java.util.concurrent.CompletableFuture<Boolean> mine = archived.get(i + 1);
                tasks.add(() -> {
                    try {
                        String identity = identity(r);
                        WalArchive.PutOutcome o = pushOne(archive, r, sysid, compression, 1, () -> archivedBefore(before));
                        if (o != WalArchive.PutOutcome.ALREADY_ARCHIVED) {
                            also.add(r.getFileName().toString());
                        }
                        archive.storedAgainWarning(o, r.getFileName().toString(), "this file").ifPresent(warnings::add);
                        mine.complete(true);
                        markPushed(spool, r.getFileName().toString(), identity);
                    } catch (WalArchive.HeldBackException e) {
                        // an earlier file failed, and says so; PostgreSQL asks for this one again later
                    } catch (PgstrataException | IOException e) {
                        // PostgreSQL will ask for this file itself and get the error then.
                        warnings.add("could not push ready file " + r.getFileName() + " ahead: " + e.getMessage());
                    } finally {
                        mine.complete(false);
                    }
                    return null;
                });
            }
            WalArchive.PutOutcome outcome = org.pgstrata.api.Parallel.run(THREADS, "pgstrata-push", tasks).get(0);
            List<String> sorted = new ArrayList<>(also);
            sorted.sort(null);
            return new Result(name, outcome, sorted, new ArrayList<>(warnings));
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot archive " + name + ": " + e.getMessage(),
                    "run 'pgstrata verify --repo " + S3Location.describe(repo) + "'");
        } catch (NoSuchFileException e) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "cannot archive " + name + ": " + file + " does not exist",
                    "archive_command runs in the data directory and should pass %p");
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot archive " + name + " into " + S3Location.describe(repo) + ": " + e.getMessage(),
                    "check that the repository is reachable and writable; PostgreSQL retries the push", e);
        }
    }

    /**
     * The hint where a repository's location holds no repo.json: most often a file system that is
     * not mounted (its empty mount point is there), where a new repository would hide, once the
     * real one is mounted again, what was archived into the new one meanwhile. {@code names}: the
     * setting that names the location.
     */
    public static String noRepositoryHint(String location, String names) {
        return "mount or restore the repository that " + names + " names (a file system not mounted?); only if there is none yet, "
                + "create it with 'pgstrata repo init --repo " + Self.quote(location) + " --pgdata DIR'";
    }

    /**
     * Waits until the file before this one in the batch is archived or has failed. An interrupt
     * (the batch is being stopped) counts as failed; the task ends right after.
     */
    private static boolean archivedBefore(java.util.concurrent.CompletableFuture<Boolean> before) {
        try {
            return before.get();
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            return false;
        }
    }

    private static WalArchive.PutOutcome pushOne(WalArchive archive, Path file, String sysid, Compression compression, int workers,
                                                 WalArchive.Turn turn) throws IOException {
        String name = file.getFileName().toString();
        boolean segment = SEGMENT.matcher(name).matches() || PARTIAL.matcher(name).matches();
        if (!segment || compression != Compression.ZSTD) {
            byte[] content = Files.readAllBytes(file);
            if (segment) {
                checkHeader(archive, name, content, sysid);
            }
            return put(() -> archive.put(name, content, compression, turn));
        }
        // A segment: mapped, not copied; checksummed natively; compressed by zstd's own threads.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            byte[] header = new byte[Math.min(WalSegmentHeader.LENGTH, map.remaining())];
            map.get(0, header);
            checkHeader(archive, name, header, sysid);
            return put(() -> archive.put(name, map, workers, turn));
        }
    }

    private interface Put {
        WalArchive.PutOutcome run() throws IOException;
    }

    private static WalArchive.PutOutcome put(Put p) throws IOException {
        try {
            return p.run();
        } catch (WalArchive.ConflictException e) {
            throw new PgstrataException(ErrorCode.WAL_CONFLICT, e.getMessage(),
                    "two clusters (or a restored copy with archiving on) are archiving into one repository; give each its own");
        }
    }

    private static void checkHeader(WalArchive archive, String name, byte[] start, String sysid) {
        WalSegmentHeader h = WalSegmentHeader.parse(start);
        if (h == null) {
            throw new PgstrataException(ErrorCode.CORRUPT, name + " does not start with a WAL segment header",
                    "check the file; PostgreSQL retries the push");
        }
        if (!h.systemIdentifierText().equals(sysid)) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "WAL " + name + " belongs to the cluster with system identifier "
                    + h.systemIdentifierText() + ", but the repository " + archive.storage().describe() + " serves " + sysid,
                    "point archive_command at this cluster's own repository");
        }
        // pg_wal holds recycled files: old segments renamed ahead for reuse, their old content still in them. Archived under
        // the new name, one would make the real segment's push a conflict for good.
        if (!h.startsSegment(name)) {
            throw new PgstrataException(ErrorCode.CORRUPT, name + " holds the WAL that starts at " + h.pageAddressText() + ", not the start of "
                    + name + " (a recycled or renamed file); nothing was archived",
                    "push only the files PostgreSQL names (%p): pg_wal keeps old segments under new names for reuse");
        }
    }

    /** Threads for compressing: a segment alone gets them all; a batch gets one file per thread. */
    private static final int THREADS = 2;

    /**
     * Where pushed-ahead files are noted, so that archive_command's shell check can answer
     * PostgreSQL's later call for them without starting a JVM (see {@link org.pgstrata.api.Self}).
     * A note is written only once its file is durable in the archive; losing one costs a push.
     */
    public static Path spoolDirectory(String repo, Path walDir) {
        if (S3Location.isS3(repo)) {
            // No local repository directory: beside the WAL, where backups do not look (pg_wal's contents are never copied).
            return walDir.toAbsolutePath().resolve(S3_SPOOL).resolve(s3SpoolName(repo));
        }
        return Path.of(repo).toAbsolutePath().normalize().resolve("spool");
    }

    private static final String S3_SPOOL = "pgstrata-spool";

    /**
     * The directory under pg_wal/pgstrata-spool of the S3 repository {@code repo} (its endpoint,
     * bucket and prefix, hashed): a note says that a file is in one repository only. With one
     * directory for every bucket, an archive_command changed to another repository (a new,
     * encrypted one) while a push to the old one noted files ahead answered PostgreSQL's calls
     * for those files from the notes: marked archived, and never written to the new repository.
     */
    static String s3SpoolName(String repo) {
        S3Location l = S3Location.parse(repo);
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((l.describe() + "\0" + (l.endpoint() == null ? "" : l.endpoint())).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the platform lacks SHA-256", e);
        }
    }

    /** archive_command for {@code repo}, with its spool check (see {@link #spoolDirectory}). */
    public static String archiveCommand(String repo) {
        return archiveCommand(repo, java.util.List.of());
    }

    /**
     * archive_command for {@code repo}, naming it with {@code selfArguments} (such as
     * "--stanza", NAME, which the pushing process resolves through the configuration file) or,
     * when that is empty, with the repository's own options.
     */
    public static String archiveCommand(String repo, java.util.List<String> selfArguments) {
        // archive_command runs in the data directory, and %p is pg_wal/%f.
        String spool = S3Location.isS3(repo) ? "pg_wal/" + S3_SPOOL + "/" + s3SpoolName(repo) : Self.quote(spoolDirectory(repo, null).toString());
        return Self.archiveCommand(selfArguments.isEmpty() ? StorageFactory.arguments(repo) : selfArguments, spool);
    }

    /**
     * The note holds the file's identity as {@code stat -c '%i %s %Y'} prints it (inode, size,
     * modification second), read before the push: the shell check answers only for that very
     * file, so a later file that reuses the name (another timeline's history, a restored copy)
     * still goes through a real push and its conflict check.
     */
    private static void markPushed(Path spool, String name, String identity) {
        try {
            if (!Files.isDirectory(spool)) {
                Files.createDirectories(spool, FileStorage.DIR_MODE);
            }
            Path temp = spool.resolve(name + ".tmp");
            Files.deleteIfExists(temp);
            Files.createFile(temp, FileStorage.FILE_MODE);
            Files.writeString(temp, identity + "\n");
            Files.move(temp, spool.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            // Without the note PostgreSQL's call runs a push, which finds the file archived.
        }
    }

    static String identity(Path file) throws IOException {
        var a = Files.readAttributes(file, "unix:ino,size,lastModifiedTime");
        long seconds = ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.SECONDS);
        return a.get("ino") + " " + a.get("size") + " " + seconds;
    }

    /** A real push of a file makes any note for its name stale: drop it. */
    private static void dropNote(String repo, Path file, String name) {
        try {
            Files.deleteIfExists(spoolDirectory(repo, file.toAbsolutePath().getParent()).resolve(name));
        } catch (IOException | RuntimeException e) {
            // a leftover note is checked against the file's identity anyway
        }
    }

    /** Files archive_status marks ready, other than the one asked for: history files first, then by name. */
    private static List<Path> readyFiles(Path file, String except) throws IOException {
        Path walDir = file.toAbsolutePath().getParent();
        Path status = walDir.resolve("archive_status");
        List<Path> result = new ArrayList<>();
        if (!Files.isDirectory(status)) {
            return result;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(status, "*.ready")) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                String walName = n.substring(0, n.length() - ".ready".length());
                if (!walName.equals(except) && isArchivable(walName) && Files.isRegularFile(walDir.resolve(walName))) {
                    result.add(walDir.resolve(walName));
                }
            }
        }
        result.sort(Comparator.comparing((Path p) -> !p.getFileName().toString().endsWith(".history"))
                .thenComparing(p -> p.getFileName().toString()));
        return result;
    }
}
