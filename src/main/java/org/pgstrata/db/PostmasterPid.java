package org.pgstrata.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a running server wrote into its data directory's postmaster.pid: one value a line, in the
 * order of PostgreSQL's pidfile.h (pid, data directory, start time, port, first socket directory,
 * first listen address, shared memory key, status). The socket directory and listen address are
 * empty when the server has none.
 */
public record PostmasterPid(long pid, int port, String socketDir, String listenAddress, String status) {

    /** The file of {@code pgdata}, when it is there and names a process that is alive; else empty. */
    public static Optional<PostmasterPid> ofRunning(Path pgdata) {
        if (pgdata == null) {
            return Optional.empty();
        }
        Path file = pgdata.resolve("postmaster.pid");
        List<String> lines;
        try {
            if (!Files.isRegularFile(file)) {
                return Optional.empty();
            }
            lines = Files.readAllLines(file);
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
        if (lines.size() < 4) {
            return Optional.empty(); // a server still writing it, or an old format
        }
        try {
            long pid = Long.parseLong(lines.get(0).trim());
            int port = Integer.parseInt(lines.get(3).trim());
            // Only the status is padded; a socket directory may end in a space (unix_socket_directories = '"/run/a "').
            String socketDir = lines.size() > 4 ? lines.get(4) : "";
            PostmasterPid p = new PostmasterPid(pid, port, socketDir, line(lines, 5), line(lines, 7));
            // A file left by a server that crashed names a process that is gone.
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) ? Optional.of(p) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Stops the server that a killed command left running in {@code pgdata}, if any: SIGQUIT
     * (PostgreSQL's immediate shutdown), then SIGKILL after 30 s. A pid that names no postmaster,
     * or one working in another directory (a pid reused since, by another server perhaps), is left
     * alone. Returns whether a server was stopped.
     */
    public static boolean stopLeftover(Path pgdata) {
        Path pidFile = pgdata.resolve("postmaster.pid");
        long pid;
        try {
            if (!Files.isRegularFile(pidFile)) {
                return false;
            }
            pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return false;
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty()) {
            return false;
        }
        ProcessHandle p = handle.get();
        if (!p.isAlive() || p.info().command().map(c -> !c.endsWith("postgres")).orElse(false)) {
            return false; // not a postmaster (a reused pid)
        }
        if (!runsIn(pid, pgdata)) {
            // A postmaster, but not this directory's: the pid was reused (a reboot since the command was killed) by another
            // server, perhaps the source itself, or postmaster.pid was written by someone else. A postmaster works in its
            // data directory; one that does not is left alone.
            return false;
        }
        try {
            new ProcessBuilder("kill", "-QUIT", Long.toString(pid)).redirectErrorStream(true).start()
                    .waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            p.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
        }
        return true;
    }

    /** A postgres process ({@code pid}) and the data directory it works in, as the kernel resolves it. */
    public record Working(long pid, Path dataDirectory) {
    }

    /**
     * The postgres processes of this machine and the directories they work in: a server and each
     * of its backends work in their data directory. Processes this user may not look at, or in
     * another pid namespace, are not seen; without /proc, none is.
     */
    public static List<Working> postgresProcesses() {
        List<Working> found = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"),
                p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                try {
                    String comm = Files.readString(proc.resolve("comm")).trim();
                    if (comm.equals("postgres") || comm.equals("postmaster")) {
                        found.add(new Working(Long.parseLong(proc.getFileName().toString()), Files.readSymbolicLink(proc.resolve("cwd"))));
                    }
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile, or not ours to look at
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        return found;
    }

    /** A postgres process working in {@code pgdata}, whatever its postmaster.pid says ({@link #postgresProcesses}). */
    public static Optional<Long> postgresWorkingIn(Path pgdata) {
        Path real;
        try {
            real = pgdata.toRealPath();
        } catch (IOException e) {
            return Optional.empty();
        }
        return postgresProcesses().stream().filter(w -> w.dataDirectory().equals(real)).map(Working::pid).findFirst();
    }

    /**
     * Whether process {@code pid} works in {@code pgdata} (its current directory, as a
     * postmaster's and its backends' is their data directory); empty when that cannot be told:
     * the process is gone, or not this user's to look at.
     */
    public static Optional<Boolean> worksIn(long pid, Path pgdata) {
        try {
            return Optional.of(Path.of("/proc", Long.toString(pid), "cwd").toRealPath().equals(pgdata.toRealPath()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static boolean runsIn(long pid, Path pgdata) {
        return worksIn(pid, pgdata).orElse(false); // cannot tell: not ours to stop
    }

    private static String line(List<String> lines, int i) {
        return i < lines.size() ? lines.get(i).trim() : "";
    }

    /**
     * Where a client on this machine reaches the server on {@code port} (normally its own): its
     * socket directory when it has one and the socket for that port is there, else its first listen
     * address ('*' and the wildcard addresses mean every interface: localhost), else null.
     */
    public String localHost(int port) {
        if (!socketDir.isEmpty() && socketDir.startsWith("/") && Files.exists(Path.of(socketDir, ".s.PGSQL." + port))) {
            return socketDir;
        }
        return switch (listenAddress) {
            case "" -> null;
            case "*", "0.0.0.0", "::" -> "localhost";
            default -> listenAddress;
        };
    }
}
