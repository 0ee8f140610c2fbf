package org.pgstrata.db;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.PgstrataException;

/**
 * A PostgreSQL cluster on this machine: created by initdb, started by running postgres itself
 * (no shell), stopped and inspected by pg_ctl (which runs no shell for those). Tests, the demo
 * and {@code compare} start every server through this class.
 */
public final class LocalCluster {
    public static final String LOG_FILE = "log/pgstrata-server.log";

    private final Path pgdata;
    private final PgBinaries binaries;
    /**
     * How long each log file was when this object last started the server: what came before is
     * another run's, often the source's (a backup copies log/ and current_logfiles), and must not
     * be read as this run's ("database system is shut down", "redo done at").
     */
    private final Map<Path, Long> logStart = new java.util.concurrent.ConcurrentHashMap<>();

    public LocalCluster(Path pgdata, PgBinaries binaries) {
        this.pgdata = pgdata.toAbsolutePath().normalize();
        this.binaries = binaries;
    }

    public Path pgdata() {
        return pgdata;
    }

    public PgBinaries binaries() {
        return binaries;
    }

    /** Settings written into a new cluster's postgresql.conf: ready for online backups. */
    public record InitOptions(int port, String extraConfig, boolean dataChecksums) {
        public InitOptions(int port, String extraConfig) {
            this(port, extraConfig, true);
        }

        public static InitOptions port(int port) {
            return new InitOptions(port, "");
        }
    }

    /**
     * Creates a cluster: data checksums on, wal_level=replica, WAL summaries on (17+), listening on 127.0.0.1 only, trust
     * for connections from this machine only, superuser postgres.
     */
    /**
     * Refuses a data directory whose name holds a line break: postmaster.pid holds one value a
     * line, the data directory among them, and PostgreSQL then writes the lines after it out of
     * place (the socket directory's is lost), so that neither its port nor its state can be read
     * back: pgstrata (and pg_ctl) took the start time for the port ("invalid port 1796457659").
     * As restore --start and drill refuse such a target.
     */
    static void requireNoLineBreak(Path dir, String what) {
        String name = dir.toString();
        if (name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
            throw new PgstrataException(ErrorCode.USAGE, "cannot " + what + " " + name.replace('\n', '?').replace('\r', '?')
                    + ": its name holds a line break, which PostgreSQL's postmaster.pid cannot hold; nothing was written or started",
                    "use a data directory whose name has no line break");
        }
    }

    public static LocalCluster init(Path pgdata, PgBinaries binaries, InitOptions options) {
        Path dir = pgdata.toAbsolutePath().normalize();
        requireNoLineBreak(dir, "initialise a cluster in");
        requireEmptyOrAbsent(dir, "initialise a cluster there");
        requireShellSafe(binaries);
        // What a failed init takes away: the directories it makes, or what it put in an empty one it was given (and its mode)
        Path made = firstMissing(dir);
        java.util.Set<java.nio.file.attribute.PosixFilePermission> given;
        try {
            given = made == null ? Files.getPosixFilePermissions(dir) : null;
        } catch (IOException e) {
            given = null;
        }
        boolean done = false;
        try {
            LocalCluster c = initIn(dir, binaries, options);
            done = true;
            return c;
        } finally {
            if (!done) {
                undoInit(dir, made, given);
            }
        }
    }

    /** The outermost of {@code dir} and its parents that does not exist; null when {@code dir} does. */
    private static Path firstMissing(Path dir) {
        if (Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        Path p = dir;
        while (p.getParent() != null && !Files.exists(p.getParent(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            p = p.getParent();
        }
        return p;
    }

    /** Best effort: the failure that brought us here is the one to report. */
    private static void undoInit(Path dir, Path made, java.util.Set<java.nio.file.attribute.PosixFilePermission> given) {
        try {
            if (made != null) {
                if (Files.exists(made, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    org.pgstrata.api.FileTrees.delete(made);
                }
                return;
            }
            // It was empty (requireEmptyOrAbsent): whatever is in it now, init put there
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        org.pgstrata.api.FileTrees.delete(p);
                    } else {
                        Files.deleteIfExists(p);
                    }
                }
            }
            if (given != null) {
                Files.setPosixFilePermissions(dir, given);
            }
        } catch (IOException | RuntimeException e) {
            // left as it is; the error said what failed
        }
    }

    private static LocalCluster initIn(Path dir, PgBinaries binaries, InitOptions options) {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (java.nio.file.AccessDeniedException e) {
            throw org.pgstrata.api.PermissionDenied.of(e); // exit 45, naming the directory that bars the way, its owner and the user
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot create " + dir + ": " + e.getMessage(), "check the path and permissions");
        }
        LocalCluster c = new LocalCluster(dir, binaries);
        List<String> args = new ArrayList<>(List.of("-D", dir.toString(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                "--no-instructions"));
        // Checksums are off by default before 18 and on from 18.
        if (options.dataChecksums()) {
            args.add("--data-checksums");
        } else if (binaries.major() >= 18) {
            args.add("--no-data-checksums");
        }
        List<String> cmd = binaries.serverCommand("initdb", args.toArray(String[]::new));
        ProcessResult r = ProcessResult.run(cmd, 300);
        if (r.exitCode() != 0 && org.pgstrata.storage.fs.FileStorage.noRoom(r.output())) {
            // A full disk, not a broken installation: an I/O error (exit 22) that says where to free space
            String why = r.output().lines().filter(org.pgstrata.storage.fs.FileStorage::noRoom).findFirst().orElse("").strip();
            throw new PgstrataException(ErrorCode.IO, "initdb failed for " + dir + ": no room to write there: " + why,
                    "free space where " + dir + " is (a new cluster takes about 40 MiB), or choose a directory on another disk");
        }
        if (r.exitCode() != 0) {
            throw new PgstrataException(ErrorCode.SERVER, "initdb failed for " + dir + ": " + r.lastLines(5),
                    "check that the directory is writable and the binaries work (" + binaries.binDir() + ")");
        }
        try {
            Files.writeString(dir.resolve("pg_hba.conf"), """
                    # Written by pgstrata cluster init: trust connections from this machine only.
                    # TYPE  DATABASE     USER  ADDRESS        METHOD
                    local   all          all                  trust
                    host    all          all   127.0.0.1/32   trust
                    host    all          all   ::1/128        trust
                    local   replication  all                  trust
                    host    replication  all   127.0.0.1/32   trust
                    host    replication  all   ::1/128        trust
                    """, StandardCharsets.UTF_8);
            String conf = """

                    # Added by pgstrata cluster init: ready for online backups, reachable from this machine only.
                    listen_addresses = '127.0.0.1'
                    port = %d
                    unix_socket_directories = ''
                    wal_level = replica
                    full_page_writes = on
                    max_wal_senders = 10
                    max_replication_slots = 10
                    fsync = on
                    """.formatted(options.port())
                    // 17+: WAL summaries, so that an incremental reads only the blocks they name
                    + (binaries.major() >= 17 ? "summarize_wal = on\n" : "")
                    + (options.extraConfig() == null ? "" : options.extraConfig());
            Files.writeString(dir.resolve("postgresql.conf"), conf, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            logDirectory(dir);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot write the configuration of " + dir + ": " + e.getMessage(), null);
        }
        return c;
    }

    /**
     * log/, owner-only whatever the umask, as the data directory around it is: the server's log
     * says what its clients did (PostgreSQL's own log_file_mode is 0600). One that is there stays as it is.
     */
    private static void logDirectory(Path pgdata) throws IOException {
        Path log = pgdata.resolve("log");
        if (!Files.isDirectory(log)) {
            Files.createDirectory(log, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
    }

    /**
     * initdb runs the bootstrap backend through popen(), with its path in double quotes: a
     * binaries directory with a quote, backslash, dollar sign or backtick in it would be shell
     * code there. The data directory never reaches that shell (initdb passes it as PGDATA).
     */
    private static void requireShellSafe(PgBinaries binaries) {
        String real;
        try {
            real = binaries.binDir().toRealPath().toString();
        } catch (IOException e) {
            real = binaries.binDir().toString();
        }
        if (real.matches(".*[\"\\\\$`].*")) {
            throw new PgstrataException(ErrorCode.BINARIES, "cannot run initdb from " + real + ": initdb passes its own directory "
                    + "through a shell, where a quote, backslash, '$' or backtick in it would run as code",
                    "install or link the PostgreSQL binaries under a plain path and pass that to --pg-bin");
        }
    }

    /** Refuses to touch a directory that holds anything. */
    public static void requireEmptyOrAbsent(Path dir, String purpose) {
        if (!Files.exists(dir)) {
            if (Files.isSymbolicLink(dir)) {
                // Creating it fails with the bare path as the reason, and a failed command's cleaning up removed the user's link
                String to;
                try {
                    to = Files.readSymbolicLink(dir).toString();
                } catch (IOException e) {
                    to = "a path that cannot be read";
                }
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " is a symbolic link to " + to
                        + ", which does not exist; nothing was written", "create the directory it leads to (mount its file system), or"
                        + " choose another path");
            }
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " is a file",
                    "choose a path that does not exist or is an empty directory");
        }
        try {
            if (onlyLostAndFound(dir)) {
                // Not "empty this one first": lost+found is where fsck puts what it recovers
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " holds lost+found, so it is the"
                        + " root of a file system (a mount point), which PostgreSQL advises against as a data directory",
                        "use a directory under it, such as " + dir.resolve("pgdata"));
            }
            if (!FileTrees.isEmpty(dir)) {
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " is not empty",
                        "choose an empty or new directory, or empty this one first");
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read " + dir + ": " + e.getMessage(), "check permissions");
        }
    }

    private static boolean onlyLostAndFound(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).limit(2).toList();
            return names.equals(List.of("lost+found"));
        }
    }

    /**
     * Where a restore keeps pg_control until it has finished (restore's {@code DeltaTarget.CONTROL_ASIDE}): a directory
     * holding it and no pg_control is a restore that did not finish, which {@code restore --delta} finishes.
     */
    public static final String UNFINISHED_RESTORE_CONTROL = "global/pg_control.pgstrata-delta";

    /** Throws unless {@code dir} looks like a PostgreSQL data directory. */
    public static void requireDataDirectory(Path dir) {
        if (!Files.isRegularFile(dir.resolve("global").resolve("pg_control")) && Files.isRegularFile(dir.resolve(UNFINISHED_RESTORE_CONTROL))) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, dir + " holds a restore that did not finish (its pg_control is set aside as "
                    + UNFINISHED_RESTORE_CONTROL + "), which no server starts", "finish it with 'pgstrata restore --delta --to "
                    + org.pgstrata.api.Self.quote(dir.toString()) + "' (the same backup or another), or restore into an empty directory");
        }
        if (!Files.isRegularFile(dir.resolve("PG_VERSION")) || !Files.isRegularFile(dir.resolve("global").resolve("pg_control"))) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, dir + " is not a PostgreSQL data directory (no PG_VERSION or global/pg_control)",
                    "pass --pgdata the directory the server runs on (SHOW data_directory)");
        }
    }

    /** The major version recorded in PG_VERSION. */
    public static int majorOf(Path dir) {
        requireDataDirectory(dir);
        try {
            return Integer.parseInt(Files.readString(dir.resolve("PG_VERSION")).trim());
        } catch (IOException | NumberFormatException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + dir.resolve("PG_VERSION") + ": " + e.getMessage(), null);
        }
    }

    /** Starts the server and waits until it accepts connections. */
    public void start() {
        start(null);
    }

    public void start(Integer port) {
        start(port, Map.of());
    }

    /**
     * Starts with {@code environment} added to the server's own: what its archive_command and
     * restore_command see, such as the credentials of an S3 repository.
     */
    public void start(Integer port, Map<String, String> environment) {
        start(port, environment, DEFAULT_STALL);
    }

    /**
     * Starts the server and waits until it accepts connections (or, in recovery, read-only
     * ones) for as long as its start makes progress: the wait fails at once when the server exits,
     * and after {@code stall} without any progress (zero: never).
     *
     * <p>No shell sees the data directory: pg_ctl start runs {@code sh -c "exec postgres -D \"DIR\"
     * ... >> \"LOG\""}, where {@code $(..)} or a backtick in a path is code. The server is started
     * directly, in a session of its own (setsid) so that it outlives this process and the
     * terminal's signals, with its output appended to the log file and no input.
     *
     * <p>The server runs with {@code lc_messages=C} from its command line (until it is restarted
     * otherwise), so that its log, which pgstrata reads, is in English.
     */
    public void start(Integer port, Map<String, String> environment, Duration stall) {
        requireNoLineBreak(pgdata.toAbsolutePath().normalize(), "start a server in");
        requireDataDirectory(pgdata);
        if (isRunning()) {
            return;
        }
        Path log = pgdata.resolve(LOG_FILE);
        try {
            logDirectory(pgdata);
            if (!Files.exists(log)) {
                // Created owner-only, as pg_ctl's redirection under its umask would.
                Files.createFile(log, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot create " + log + ": " + e.getMessage(), "check permissions on " + pgdata);
        }
        // pgstrata reads this log (where recovery stopped, a shutdown at the target, a full disk): in English, whatever
        // lc_messages the cluster's configuration (made under its owner's locale) and LANGUAGE say. Sessions may still SET it.
        List<String> args = new ArrayList<>(List.of("-D", pgdata.toString(), "-c", "lc_messages=C"));
        args.addAll(logOverrides());
        if (port != null) {
            args.add("-p");
            args.add(Integer.toString(port));
        }
        List<String> cmd = new ArrayList<>();
        if (SETSID != null) {
            // --wait: should setsid have to fork, it lives as long as the server, so that our handle's death is the server's.
            cmd.addAll(List.of(SETSID, "--wait"));
        }
        cmd.addAll(binaries.serverCommand("postgres", args.toArray(String[]::new)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(environment);
        logStart.clear();
        for (Path d : logFiles().stream().map(Path::getParent).distinct().toList()) {
            // every file of the log directories: the collector may go on in any of them (a name by weekday, by hour)
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    logStart.put(f, Files.size(f));
                }
            } catch (IOException | java.io.UncheckedIOException e) {
                // not there yet: all of it is this run's
            }
        }
        Process server;
        try {
            server = pb.start();
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.SERVER, "cannot run " + binaries.program("postgres") + ": " + e.getMessage(),
                    "check that the PostgreSQL binaries" + (PgBinaries.isRoot() ? " and 'unshare'" : "") + " are installed");
        }
        waitUntilAccepting(server, stall);
    }

    /**
     * What the server must log for pgstrata to read it, where its configuration would not: the
     * LOG lines (where recovery stopped, "redo done at") that log_min_messages = fatal or panic
     * drops, and a log in a file at all, which a log_destination of syslog (or eventlog) alone
     * does not give: stderr is added to it, so that syslog still has everything. For this run
     * only, as lc_messages: the configuration files are left as they are. A configuration that
     * postgres cannot read changes nothing here: the start then says what is wrong with it.
     */
    private List<String> logOverrides() {
        List<String> extra = new ArrayList<>();
        String destination = configValue("log_destination");
        if (destination != null && java.util.Arrays.stream(destination.split(",")).map(d -> d.trim().toLowerCase(java.util.Locale.ROOT))
                .noneMatch(d -> d.equals("stderr") || d.equals("csvlog") || d.equals("jsonlog"))) {
            extra.addAll(List.of("-c", "log_destination=" + (destination.isBlank() ? "" : destination + ",") + "stderr"));
        }
        String min = configValue("log_min_messages");
        if (min != null && (min.equalsIgnoreCase("fatal") || min.equalsIgnoreCase("panic"))) {
            extra.addAll(List.of("-c", "log_min_messages=error"));
        }
        return extra;
    }

    /** A setting's value as the server would start with it (postgres -C, which starts nothing), or null when that fails. */
    private String configValue(String name) {
        ProcessResult r = ProcessResult.run(binaries.serverCommand("postgres", "-D", pgdata.toString(), "-C", name), 60);
        return r.exitCode() == 0 && r.output().strip().indexOf('\n') < 0 ? r.output().strip() : null;
    }

    /** How long a start or a recovery may show no progress before it is given up, unless the caller says otherwise. */
    public static final Duration DEFAULT_STALL = Duration.ofSeconds(300);

    private static final String SETSID = Stream.of("/usr/bin/setsid", "/bin/setsid").filter(p -> Files.isExecutable(Path.of(p)))
            .findFirst().orElse(null);

    /**
     * Waits until postmaster.pid, written by {@code server}, says "ready" or "standby" (what
     * pg_ctl -w waits for). Fails when the server exits, or when nothing moves for {@code stall}:
     * then it stops the server again, so that a failed start leaves nothing running.
     */
    private void waitUntilAccepting(Process server, Duration stall) {
        StallWatch watch = new StallWatch(stall);
        while (true) {
            List<String> pid = pidFile();
            if (pid.size() > 7 && ownedBy(pid.get(0), server)) {
                String state = pid.get(7).trim();
                if (state.equals("ready") || state.equals("standby")) {
                    return;
                }
            }
            if (!server.isAlive()) {
                throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " exited while starting (exit code "
                        + server.exitValue() + "): " + serverLogTail(), "read " + logFilesText()
                        + "; a port in use, a configuration error or a damaged data directory are the usual causes");
            }
            watch.observe(progress());
            if (watch.stalled()) {
                stopImmediately();
                throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " made no progress for " + watch.stillSeconds()
                        + " s while starting, and was stopped again: " + serverLogTail(),
                        "read " + logFilesText() + "; if the host is just very busy, allow a longer stall (--start-timeout)");
            }
            StallWatch.pause(100);
        }
    }

    private static boolean ownedBy(String pidText, Process server) {
        try {
            long pid = Long.parseLong(pidText.trim());
            return pid == server.pid() || server.descendants().anyMatch(h -> h.pid() == pid);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** postmaster.pid's lines; empty when it is absent or unreadable (being written). */
    private List<String> pidFile() {
        try {
            return Files.readAllLines(pgdata.resolve("postmaster.pid"));
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of();
        }
    }

    /**
     * A fingerprint of a starting or recovering server's work, for a {@link StallWatch}: the size
     * of its log (restored WAL files, progress reports and errors are logged), its postmaster.pid,
     * and the title and I/O counters of its startup process (which replays WAL; its title names
     * the segment) and checkpointer (the end-of-recovery checkpoint). Other processes are left
     * out: their idle wake-ups would look like progress.
     */
    public Object progress() {
        List<Object> f = new ArrayList<>();
        for (Path log : logFiles()) {
            try {
                f.add(Files.size(log));
            } catch (IOException e) {
                f.add(-1L);
            }
        }
        List<String> pid = pidFile();
        f.add(pid);
        if (!pid.isEmpty()) {
            try {
                ProcessHandle.of(Long.parseLong(pid.get(0).trim())).ifPresent(pm -> pm.children().forEach(child -> {
                    String title = procFile(child.pid(), "cmdline").replace('\0', ' ');
                    if (title.contains("startup") || title.contains("checkpointer")) {
                        f.add(title);
                        f.add(procFile(child.pid(), "io").lines().filter(l -> l.startsWith("rchar") || l.startsWith("wchar")).toList());
                    }
                }));
            } catch (NumberFormatException e) {
                // a pid file being written: its content is in the fingerprint already
            }
        }
        return f;
    }

    private static String procFile(long pid, String name) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), name), StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * Stops the server (fast shutdown) if it is running, waiting as long as its shutdown
     * checkpoint makes progress.
     */
    public void stop() {
        Optional<Status> st = status();
        if (st.isEmpty()) {
            return;
        }
        ProcessResult r = ProcessResult.run(binaries.serverCommand("pg_ctl", "stop", "-D", pgdata.toString(), "-m", "fast", "--no-wait"), 60);
        if (r.exitCode() != 0 && postmasterAlive()) {
            throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " did not stop: " + r.lastLines(3),
                    "look at " + pgdata.resolve(LOG_FILE));
        }
        StallWatch watch = new StallWatch(DEFAULT_STALL);
        while (ProcessHandle.of(st.get().pid()).map(ProcessHandle::isAlive).orElse(false) && Files.exists(pgdata.resolve("postmaster.pid"))) {
            watch.observe(progress());
            if (watch.stalled()) {
                throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " did not stop: no progress for " + watch.stillSeconds()
                        + " s (" + r.lastLines(3) + ")", "look at " + pgdata.resolve(LOG_FILE));
            }
            StallWatch.pause(100);
        }
    }

    /** Stops immediately (no checkpoint), as a crash would; for tests and cleanup. */
    public void stopImmediately() {
        if (isRunning()) {
            ProcessResult.run(binaries.serverCommand("pg_ctl", "stop", "-D", pgdata.toString(), "-m", "immediate", "-w", "-t", "60"), 90);
        }
    }

    /**
     * Whether the postmaster named in postmaster.pid lives: what pg_ctl status checks (kill(pid, 0)),
     * without starting a process, for waits that ask often.
     */
    public boolean postmasterAlive() {
        List<String> pid = pidFile();
        if (pid.isEmpty()) {
            return false;
        }
        try {
            return ProcessHandle.of(Long.parseLong(pid.get(0).trim())).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true; // being written by a starting server
        }
    }

    public boolean isRunning() {
        return status().isPresent();
    }

    /** The running server's pid and port, read from postmaster.pid after pg_ctl confirms it runs. */
    public Optional<Status> status() {
        Path pidFile = pgdata.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return Optional.empty();
        }
        ProcessResult r = ProcessResult.run(binaries.serverCommand("pg_ctl", "status", "-D", pgdata.toString()), 30);
        if (r.exitCode() != 0) {
            return Optional.empty();
        }
        try {
            List<String> lines = Files.readAllLines(pidFile);
            long pid = Long.parseLong(lines.get(0).trim());
            int port = Integer.parseInt(lines.get(3).trim());
            return Optional.of(new Status(pid, port));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    public record Status(long pid, int port) {
    }

    /** The port the cluster is configured for (last "port =" in postgresql.conf or postgresql.auto.conf). */
    public int configuredPort() {
        int port = 5432;
        for (String f : List.of("postgresql.conf", "postgresql.auto.conf")) {
            Path p = pgdata.resolve(f);
            if (!Files.isRegularFile(p)) {
                continue;
            }
            try {
                for (String line : Files.readAllLines(p)) {
                    String t = line.trim();
                    if (t.startsWith("port") && t.contains("=")) {
                        String v = t.substring(t.indexOf('=') + 1).trim();
                        int hash = v.indexOf('#');
                        if (hash >= 0) {
                            v = v.substring(0, hash).trim();
                        }
                        v = v.replace("'", "");
                        try {
                            port = Integer.parseInt(v);
                        } catch (NumberFormatException e) {
                            // keep the previous value
                        }
                    }
                }
            } catch (IOException e) {
                // unreadable file: keep the default
            }
        }
        return port;
    }

    /**
     * The files the server logs into: {@link #LOG_FILE} (its output), and, when its logging
     * collector took over (logging_collector = on, the default of Red Hat's packages), the
     * collector's current file as {@code current_logfiles} names it: stderr's, else csvlog's,
     * else jsonlog's. A cluster that logs only to syslog leaves pgstrata its output alone.
     */
    public List<Path> logFiles() {
        List<Path> files = new ArrayList<>(List.of(pgdata.resolve(LOG_FILE)));
        try {
            List<String> current = Files.readAllLines(pgdata.resolve("current_logfiles"), StandardCharsets.UTF_8);
            for (String destination : List.of("stderr ", "csvlog ", "jsonlog ")) {
                java.util.Optional<String> named = current.stream().filter(l -> l.startsWith(destination)).findFirst();
                if (named.isPresent()) {
                    files.add(pgdata.resolve(named.get().substring(destination.length())));
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no collector (or none that has started): the output is the log
        }
        return files;
    }

    /** The log files, for a message. */
    public String logFilesText() {
        return logFiles().stream().map(Path::toString).collect(java.util.stream.Collectors.joining(" and "));
    }

    /** At most this much of the end of each log file is read: a collector's file may hold days of a busy server's log. */
    private static final int LOG_READ_LIMIT = 4 << 20;

    /**
     * The server log's lines: its output's, then the collector's current file's ({@link
     * #logFiles}), each from where it ended when this object started the server (a file shorter
     * now was started anew), and at most its last 4 MiB, read as UTF-8 with what does not decode
     * replaced (messages in another encoding must not hide the rest).
     */
    public List<String> logLines() throws IOException {
        List<String> lines = new ArrayList<>();
        boolean first = true;
        for (Path f : logFiles()) {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f)) {
                long size = ch.size();
                long started = logStart.getOrDefault(f, 0L);
                long from = Math.max(started <= size ? started : 0, size - LOG_READ_LIMIT);
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) (size - from));
                while (b.hasRemaining() && ch.read(b, from + b.position()) > 0) {
                    // read on
                }
                List<String> some = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).lines().toList();
                boolean cut = from > 0 && from != started; // a read from this run's start begins at a line
                lines.addAll(cut && !some.isEmpty() ? some.subList(1, some.size()) : some);
            } catch (IOException e) {
                if (first) {
                    throw e;
                }
            }
            first = false;
        }
        return lines;
    }

    public String serverLogTail() {
        try {
            List<String> lines = logLines();
            List<String> tail = new java.util.ArrayList<>(lines.subList(Math.max(0, lines.size() - 4), lines.size()));
            // restore_command's own reason (pgstrata wal get) comes before the server's lines about it: keep it
            for (int i = lines.size() - 5; i >= Math.max(0, lines.size() - 16); i--) {
                if (lines.get(i).startsWith("pgstrata: error: ")) {
                    tail.add(0, lines.get(i));
                    break;
                }
            }
            return String.join(" | ", tail);
        } catch (IOException e) {
            return "(no server log)";
        }
    }

    /** The server log's last line that contains {@code words}, or null. */
    public String serverLogLine(String words) {
        try {
            List<String> lines = logLines();
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).contains(words)) {
                    return lines.get(i);
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            // no log: no such line
        }
        return null;
    }

    /** A TCP port on 127.0.0.1 that is free right now. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot find a free port: " + e.getMessage(), null);
        }
    }

    /** Result of running a child process, with its combined output. */
    public record ProcessResult(int exitCode, String output) {
        public static ProcessResult run(List<String> cmd, int timeoutSeconds) {
            return run(cmd, timeoutSeconds, Map.of());
        }

        public static ProcessResult run(List<String> cmd, int timeoutSeconds, Map<String, String> environment) {
            try {
                Path out = Files.createTempFile("pgstrata-proc", ".log");
                try {
                    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
                    // English output, which is read (initdb's "No space left on device"), whatever LANGUAGE asks for
                    pb.environment().put("LANGUAGE", "en");
                    pb.environment().putAll(environment);
                    Process p = pb.start();
                    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        return new ProcessResult(-1, cmd.get(cmd.size() > 2 && cmd.get(0).endsWith("/unshare") ? 2 : 0) + " timed out after " + timeoutSeconds + "s");
                    }
                    return new ProcessResult(p.exitValue(), Files.readString(out));
                } finally {
                    Files.deleteIfExists(out);
                }
            } catch (IOException e) {
                throw new PgstrataException(ErrorCode.SERVER, "cannot run " + String.join(" ", cmd) + ": " + e.getMessage(),
                        "check that the PostgreSQL binaries and 'unshare' are installed");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PgstrataException(ErrorCode.SERVER, "interrupted while running " + cmd.get(0), null);
            }
        }

        public String lastLines(int n) {
            String[] lines = output.strip().split("\n");
            return String.join(" | ", java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - n), lines.length));
        }
    }
}
