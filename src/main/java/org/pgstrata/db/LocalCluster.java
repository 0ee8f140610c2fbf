package org.pgstrata.db;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * A PostgreSQL cluster on this machine, driven through initdb and pg_ctl. Tests, the demo and
 * {@code compare} start every server through this class.
 */
public final class LocalCluster {
    public static final String LOG_FILE = "log/pgstrata-server.log";
    private static final int START_TIMEOUT_SECONDS = 120;

    private final Path pgdata;
    private final PgBinaries binaries;

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
     * Creates a cluster: data checksums on, wal_level=replica, listening on 127.0.0.1 only, trust
     * for connections from this machine only, superuser postgres.
     */
    public static LocalCluster init(Path pgdata, PgBinaries binaries, InitOptions options) {
        Path dir = pgdata.toAbsolutePath().normalize();
        requireEmptyOrAbsent(dir, "initialise a cluster there");
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
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
                    """.formatted(options.port()) + (options.extraConfig() == null ? "" : options.extraConfig());
            Files.writeString(dir.resolve("postgresql.conf"), conf, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            Files.createDirectories(dir.resolve("log"));
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot write the configuration of " + dir + ": " + e.getMessage(), null);
        }
        return c;
    }

    /** Refuses to touch a directory that holds anything. */
    public static void requireEmptyOrAbsent(Path dir, String purpose) {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " is a file",
                    "choose a path that does not exist or is an empty directory");
        }
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isPresent()) {
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot " + purpose + ": " + dir + " is not empty",
                        "choose an empty or new directory, or empty this one first");
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read " + dir + ": " + e.getMessage(), "check permissions");
        }
    }

    /** Throws unless {@code dir} looks like a PostgreSQL data directory. */
    public static void requireDataDirectory(Path dir) {
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
        requireDataDirectory(pgdata);
        if (isRunning()) {
            return;
        }
        try {
            Files.createDirectories(pgdata.resolve("log"));
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot create " + pgdata.resolve("log") + ": " + e.getMessage(), null);
        }
        List<String> args = new ArrayList<>(List.of("start", "-D", pgdata.toString(), "-l", pgdata.resolve(LOG_FILE).toString(),
                "-w", "-t", String.valueOf(START_TIMEOUT_SECONDS)));
        if (port != null) {
            args.add("-o");
            args.add("-p " + port);
        }
        ProcessResult r = ProcessResult.run(binaries.serverCommand("pg_ctl", args.toArray(String[]::new)), START_TIMEOUT_SECONDS + 30,
                environment);
        if (r.exitCode() != 0) {
            throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " did not start: " + serverLogTail(),
                    "read " + pgdata.resolve(LOG_FILE) + "; a port in use or a damaged data directory are the usual causes");
        }
    }

    /** Stops the server (fast shutdown) if it is running. */
    public void stop() {
        if (!isRunning()) {
            return;
        }
        ProcessResult r = ProcessResult.run(binaries.serverCommand("pg_ctl", "stop", "-D", pgdata.toString(), "-m", "fast", "-w", "-t", "120"), 150);
        if (r.exitCode() != 0 && isRunning()) {
            throw new PgstrataException(ErrorCode.SERVER, "the server in " + pgdata + " did not stop: " + r.lastLines(3),
                    "look at " + pgdata.resolve(LOG_FILE));
        }
    }

    /** Stops immediately (no checkpoint), as a crash would; for tests and cleanup. */
    public void stopImmediately() {
        if (isRunning()) {
            ProcessResult.run(binaries.serverCommand("pg_ctl", "stop", "-D", pgdata.toString(), "-m", "immediate", "-w", "-t", "60"), 90);
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

    public String serverLogTail() {
        Path log = pgdata.resolve(LOG_FILE);
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 4), lines.size()));
        } catch (IOException e) {
            return "(no server log)";
        }
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
                    pb.environment().putAll(environment);
                    Process p = pb.start();
                    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        return new ProcessResult(-1, cmd.get(cmd.size() > 2 && cmd.get(0).equals("unshare") ? 2 : 0) + " timed out after " + timeoutSeconds + "s");
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
