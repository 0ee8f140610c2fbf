package org.pgstrata.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How to run this pgstrata again from a shell command that PostgreSQL executes
 * (archive_command, restore_command): the same Java, the same class path, with flags that make
 * a short-lived JVM start fast.
 */
public final class Self {
    /** Quick start for a process that lives for one WAL file: no JIT tiers, no GC threads, CDS on. */
    private static final List<String> FAST_START = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
            "-XX:-UsePerfData");

    private Self() {
    }

    /**
     * The installed launcher's path (/usr/bin/pgstrata, or bin/pgstrata of an unpacked tarball),
     * which it passes as this system property; absent when run from a checkout or by the tests.
     */
    public static final String COMMAND_PROPERTY = "pgstrata.command";

    /**
     * The command line prefix, each element shell-quoted, that runs pgstrata's main class: the
     * installed command when there is one (it finds its own Java, jars and native libraries, for
     * whichever user runs it), else this JVM's java, flags and class path.
     */
    public static String shellCommand() {
        String installed = System.getProperty(COMMAND_PROPERTY);
        if (installed != null && !installed.isBlank()) {
            return quote(installed);
        }
        List<String> parts = new ArrayList<>();
        parts.add(quote(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        parts.addAll(FAST_START);
        String cp = System.getProperty("java.class.path");
        if (cp != null && cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator)) {
            // The launcher's class data sharing archive, when there is one beside the jar.
            Path jsa = Path.of(cp).toAbsolutePath().resolveSibling("pgstrata.jsa");
            if (java.nio.file.Files.isRegularFile(jsa)) {
                parts.add(quote("-XX:SharedArchiveFile=" + jsa));
                parts.add("-Xlog:cds=off");
                parts.add("-Xlog:cds+dynamic=off");
            }
        }
        for (String option : nativeLibraryOptions()) {
            parts.add(quote(option));
        }
        String pgbin = System.getProperty("pgstrata.pgbin.dir");
        if (pgbin != null) {
            parts.add(quote("-Dpgstrata.pgbin.dir=" + pgbin));
        }
        parts.add("-cp");
        parts.add(quote(System.getProperty("java.class.path")));
        parts.add("org.pgstrata.cli.Main");
        return String.join(" ", parts);
    }

    /**
     * The JVM options that load zstd-jni's and lz4-java's native libraries from pgstrata's cache
     * (unpacked there once): without them each JVM unpacks them into /tmp at every start, and
     * lz4-java's copy is removed only when the JVM exits normally (a JVM killed leaves 216 KB).
     */
    public static List<String> nativeLibraryOptions() {
        List<String> options = new ArrayList<>();
        String zstd = extractedLibrary("com/github/luben/zstd/Zstd.class", "linux/%s/libzstd-jni-", null);
        if (zstd != null) {
            options.add("-DZstdNativePath=" + zstd);
        }
        String lz4 = extractedLibrary("net/jpountz/xxhash/XXHashFactory.class", "net/jpountz/util/linux/%s/liblz4-java", "liblz4-java.so");
        if (lz4 != null) {
            options.add("-Djava.library.path=" + Path.of(lz4).getParent());
        }
        return options;
    }

    private static final String ZSTD_PATH = "ZstdNativePath";

    /**
     * Run before anything compresses: loads zstd-jni's native library from the first place where
     * it loads. First from this user's cache, unpacked there once (2 to 3 ms), instead of letting
     * zstd-jni unpack it into TMPDIR on every start (about 35 ms, on the main thread); each user's
     * own process computes its own cache, so no user ever depends on another's. Then, when the
     * cache cannot hold it, unpacked into TMPDIR as zstd-jni does by default. A TMPDIR mounted
     * noexec (as hardened hosts mount /tmp) takes the file but cannot map it, and every command
     * that compressed failed with an internal error from the first thread that did. When neither
     * place loads it, the first use of zstd is said in one line naming both ({@link
     * #nativeLibraryFailure}). The installed command also unpacks lz4-java into the cache, where
     * its launcher's java.library.path finds it from the next start; lz4-java needs nothing of
     * this otherwise: without its library it runs in Java.
     */
    public static void loadNativeLibraries() {
        if (System.getProperty(COMMAND_PROPERTY) != null) {
            if (!java.nio.file.Files.isRegularFile(nativeCache().resolve("liblz4-java.so"))) {
                extractedLibrary("net/jpountz/xxhash/XXHashFactory.class", "net/jpountz/util/linux/%s/liblz4-java", "liblz4-java.so");
            }
        }
        if (com.github.luben.zstd.util.Native.isLoaded()) {
            return;
        }
        List<String> failed = new ArrayList<>();
        String given = System.getProperty(ZSTD_PATH); // the cache's copy, from a parent's nativeLibraryOptions; or the user's own
        String cached = given != null ? given : zstdFromCache(failed);
        if (cached != null && loadZstd(cached, failed) || loadZstd(null, failed)) {
            return;
        }
        boolean noexec = failed.stream().anyMatch(f -> f.contains("failed to map segment"));
        nativeFailure = new PgstrataException(ErrorCode.IO, "cannot load the compression library zstd-jni: " + String.join("; ", failed)
                + (noexec ? " (a file system mounted noexec?)" : ""), "set TMPDIR, or PGSTRATA_CACHE, to a directory that this user can write "
                + "and that allows running programs (not mounted noexec)");
    }

    /** Why zstd-jni's library did not load in {@link #loadNativeLibraries}; null when it did, or was not tried. */
    private static volatile PgstrataException nativeFailure;

    /**
     * The one-line error for {@code t} when it comes from zstd-jni's library, which {@link
     * #loadNativeLibraries} could not load: the first use of zstd failed its class's initialiser
     * (an Error, often on a copying thread, that the JVM keeps only as "Could not initialize
     * class"). Null when {@code t} is something else, or the library loaded. Commands that need
     * no compression (--help, cluster) run as usual without it.
     */
    public static PgstrataException nativeLibraryFailure(Throwable t) {
        PgstrataException failure = nativeFailure;
        if (failure == null) {
            return null;
        }
        boolean linkage = false;
        boolean zstd = false;
        for (Throwable c = t; c != null; c = c.getCause()) {
            linkage |= c instanceof LinkageError;
            zstd |= c.toString().toLowerCase(java.util.Locale.ROOT).contains("zstd");
        }
        return linkage && zstd ? failure : null;
    }

    /** zstd-jni's library unpacked into pgstrata's cache, or null (said in {@code failed}) when it cannot be. */
    private static String zstdFromCache(List<String> failed) {
        String cached = extractedLibrary("com/github/luben/zstd/Zstd.class", "linux/%s/libzstd-jni-", null);
        if (cached == null) {
            failed.add("cannot unpack it into " + cacheDirectory().resolve("native"));
        }
        return cached;
    }

    /** Loads zstd-jni's library from {@code path}, or unpacked into TMPDIR when null; false, with why in {@code failed}, when it does not load. */
    private static boolean loadZstd(String path, List<String> failed) {
        if (path == null) {
            System.clearProperty(ZSTD_PATH);
        } else {
            System.setProperty(ZSTD_PATH, path);
        }
        try {
            com.github.luben.zstd.util.Native.load();
            return true;
        } catch (LinkageError e) { // UnsatisfiedLinkError; ExceptionInInitializerError "Cannot unpack NAME: REASON" when TMPDIR takes no file
            // The loader's first line ("PATH: PATH: REASON" from the dynamic linker); the reason alone after the library's name
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("failed");
            int so = why.lastIndexOf(".so: ");
            why = so >= 0 ? why.substring(so + ".so: ".length()) : why;
            failed.add(path == null ? "unpacked into TMPDIR (" + System.getProperty("java.io.tmpdir") + "): " + why : path + ": " + why);
            System.clearProperty(ZSTD_PATH);
            return false;
        }
    }

    /**
     * The directory of this platform's native libraries in pgstrata's cache, made if missing; null
     * when it cannot be made or written.
     */
    public static Path nativeCacheDirectory() {
        Path dir = nativeCache();
        try {
            java.nio.file.Files.createDirectories(dir);
            return java.nio.file.Files.isWritable(dir) ? dir : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** Where this platform's native libraries are kept in pgstrata's cache (native/amd64 on x86_64). */
    private static Path nativeCache() {
        String arch = System.getProperty("os.arch", "");
        return cacheDirectory().resolve("native").resolve(arch.equals("x86_64") ? "amd64" : arch);
    }

    /** pgstrata's per-user cache: PGSTRATA_CACHE, else ~/.cache/pgstrata (HOME first, as the installed launcher reads it). */
    static Path cacheDirectory() {
        String env = System.getenv("PGSTRATA_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getenv("HOME");
        return Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"), ".cache", "pgstrata");
    }

    /**
     * A native library from the jar that holds {@code classInJar}, for this platform, unpacked
     * once into pgstrata's cache (PGSTRATA_CACHE or ~/.cache/pgstrata), under {@code fileName}
     * or its own name; null when it cannot be found or written.
     */
    static String extractedLibrary(String classInJar, String entryPrefixPattern, String fileName) {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux")) {
            return null;
        }
        arch = arch.equals("x86_64") ? "amd64" : arch;
        java.net.URL zstdClass = ClassLoader.getSystemResource(classInJar);
        if (zstdClass == null || !zstdClass.getProtocol().equals("jar")) {
            return null;
        }
        try {
            String jarPath = java.net.URLDecoder.decode(zstdClass.getPath().substring("file:".length(), zstdClass.getPath().indexOf('!')),
                    java.nio.charset.StandardCharsets.UTF_8);
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(jarPath)) {
                String prefix = String.format(entryPrefixPattern, arch);
                var entry = jar.stream().filter(e -> e.getName().startsWith(prefix) && e.getName().endsWith(".so")).findFirst();
                if (entry.isEmpty()) {
                    return null;
                }
                Path cache = cacheDirectory();
                String file = fileName != null ? fileName : entry.get().getName().substring(entry.get().getName().lastIndexOf('/') + 1);
                Path target = cache.resolve("native").resolve(arch).resolve(file);
                if (!java.nio.file.Files.isRegularFile(target)) {
                    java.nio.file.Files.createDirectories(target.getParent());
                    Path temp = target.resolveSibling(file + "." + ProcessHandle.current().pid() + ".tmp");
                    try (var in = jar.getInputStream(entry.get())) {
                        java.nio.file.Files.copy(in, temp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                    java.nio.file.Files.move(temp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                return target.toString();
            }
        } catch (java.io.IOException | RuntimeException e) {
            return null; // the library then unpacks itself, as usual
        }
    }

    /** Quotes a word for sh. */
    public static String quote(String s) {
        if (s.matches("[A-Za-z0-9_./=:,+@%-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * archive_command for a repository named by {@code repoArguments} ("--repo", DIR or
     * "--repo", "s3://..", "--s3-endpoint", ..). A push also archives the other files that are
     * ready and notes them in {@code spoolDir} (a shell word); PostgreSQL's later call for such a
     * file is answered by the shell, which removes the note, instead of by a new JVM. The check
     * names the spool directory three times: where the command would not fit PostgreSQL 15's
     * 1023 bytes with it (a repository path of some 170 bytes), the command is the push alone,
     * which answers such a call itself (the file is archived already) and drops the note.
     */
    public static String archiveCommand(java.util.List<String> repoArguments, String spoolDir) {
        String note = percent(spoolDir) + "/%f";
        // The note must name this very file (inode, size, mtime as stat prints them); %% is PostgreSQL's escape for %.
        String check = "if [ -f " + note + " ] && [ \"$(cat " + note + ")\" = \"$(stat -c '%%i %%s %%Y' %p)\" ]; then rm -f " + note
                + "; else ";
        String command = check + percent(shortCommand(600)) + " wal push " + words(repoArguments) + " %p; fi";
        if (fitsOldServers(command)) {
            return command;
        }
        command = check + percent(shortCommand(0)) + " wal push " + words(repoArguments) + " %p; fi";
        // Cut, the command would be a shell syntax error: nothing archived, ever.
        return fitsOldServers(command) ? command : percent(shortCommand(0)) + " wal push " + words(repoArguments) + " %p";
    }

    /** restore_command for a repository named by {@code repoArguments}. */
    public static String restoreCommand(java.util.List<String> repoArguments) {
        String command = percent(shortCommand(600)) + " wal get " + words(repoArguments) + " %f %p";
        return fitsOldServers(command) ? command : percent(shortCommand(0)) + " wal get " + words(repoArguments) + " %f %p";
    }

    /**
     * Whether PostgreSQL 15 and older take {@code command} whole: they expand %p and %f into a
     * 1024-byte buffer and cut what does not fit. %p is "pg_wal/" and a name of at most 40 bytes.
     */
    static boolean fitsOldServers(String command) {
        String expanded = command.replace("%%", "%").replace("%p", "pg_wal/" + "0".repeat(40)).replace("%f", "0".repeat(40));
        return expanded.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 1000;
    }

    private static String words(java.util.List<String> args) {
        return String.join(" ", args.stream().map(a -> percent(quote(a))).toList());
    }

    /** %-signs are PostgreSQL's escapes in archive_command and restore_command: a literal one is written %%. */
    private static String percent(String shellText) {
        return shellText.replace("%", "%%");
    }

    /**
     * {@link #shellCommand()}, or when that is long (a class path of many jars, as under Maven's
     * tests) a script in pgstrata's cache that runs it: PostgreSQL 15 and older cut
     * archive_command at 1023 bytes, which leaves the shell a half command. {@code limit} 0 always
     * writes the script.
     */
    static String shortCommand(int limit) {
        String full = shellCommand();
        String installed = System.getProperty(COMMAND_PROPERTY);
        // The installed launcher gives its JVM a UTF-8 character type itself; java run directly needs the shell to.
        String ctype = installed != null && !installed.isBlank() ? "" : UTF8_CTYPE;
        if (full.length() <= limit) {
            return ctype + full;
        }
        String text = "#!/bin/sh\n# written by pgstrata: archive_command and restore_command run this\n" + ctype + "\nexec " + full + " \"$@\"\n";
        try {
            // Named by its whole text: a script written before it set the character type is not taken for this one.
            String name = "pgstrata-" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)), 0, 8) + ".sh";
            Path cache = cacheDirectory();
            Path script = cache.resolve("bin").resolve(name);
            if (!java.nio.file.Files.isExecutable(script)) {
                java.nio.file.Files.createDirectories(script.getParent());
                Path temp = script.resolveSibling(name + "." + ProcessHandle.current().pid() + ".tmp");
                java.nio.file.Files.writeString(temp, text);
                java.nio.file.Files.setPosixFilePermissions(temp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                java.nio.file.Files.move(temp, script, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            return quote(script.toString());
        } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
            return ctype + full; // PostgreSQL 16 and later take it whole
        }
    }

    /**
     * Shell text that gives java a UTF-8 character type when the environment's is C or POSIX (or
     * none), as both launchers do: a server's environment often names no locale (systemd without
     * /etc/locale.conf, a container without LANG), and there Java 17 reads its arguments and file
     * names as ASCII, so that a repository named with any other character could never be pushed
     * into or fetched from. Another character set is left as it is. Ends with "; " to go before a command.
     */
    static final String UTF8_CTYPE = "case ${LC_ALL:-${LC_CTYPE:-$LANG}} in ''|C|POSIX) export LC_CTYPE=C.UTF-8 ${LC_ALL:+LC_ALL=C.UTF-8};; esac; ";
}
