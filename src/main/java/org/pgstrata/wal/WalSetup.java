package org.pgstrata.wal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.db.Db;
import org.pgstrata.postgres.AutoConf;
import org.pgstrata.postgres.ConfValue;
import org.postgresql.PGConnection;

/**
 * The settings that make a cluster archive into a repository, printed or applied. On a running
 * cluster they are applied with ALTER SYSTEM (the server writes its own files: pgstrata never
 * writes into the data directory of a running cluster); on a stopped one they are appended to
 * postgresql.auto.conf.
 */
public final class WalSetup {
    private WalSetup() {
    }

    public static Map<String, String> settings(String repo) {
        return settings(repo, java.util.List.of());
    }

    /** The settings, archive_command naming the repository with {@code selfArguments} when not empty (--stanza NAME). */
    public static Map<String, String> settings(String repo, java.util.List<String> selfArguments) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("archive_mode", "on");
        s.put("archive_command", WalPush.archiveCommand(repo, selfArguments));
        s.put("wal_level", "replica");
        return s;
    }

    /** The settings as postgresql.conf lines. */
    public static String confLines(String repo) {
        return confLines(repo, java.util.List.of());
    }

    /** The settings as postgresql.conf lines, archive_command naming the repository with {@code selfArguments}. */
    public static String confLines(String repo, java.util.List<String> selfArguments) {
        return lines(settings(repo, selfArguments)) + SUMMARIES_NOTE;
    }

    private static String lines(Map<String, String> settings) {
        StringBuilder sb = new StringBuilder();
        for (var e : settings.entrySet()) {
            sb.append(ConfValue.line(e.getKey(), e.getValue()));
        }
        return sb.toString();
    }

    /** PostgreSQL 17+ keeps WAL summaries when asked; older servers refuse the setting, so it is only suggested when printed. */
    static final String SUMMARIES_NOTE = "# PostgreSQL 17 and later: also summarize_wal = on (incrementals then read only the changed blocks)\n";

    /** What {@link #apply} did, and whether a restart is still needed. */
    public record Applied(String how, boolean restartNeeded) {
    }

    public static Applied apply(String repo, Path pgdata, ConnectionSettings conn, boolean running) {
        return apply(repo, java.util.List.of(), pgdata, conn, running);
    }

    /** {@link #apply(String, Path, ConnectionSettings, boolean)}, archive_command naming the repository with {@code selfArguments}. */
    public static Applied apply(String repo, java.util.List<String> selfArguments, Path pgdata, ConnectionSettings conn, boolean running) {
        Map<String, String> wanted = settings(repo, selfArguments);
        if (!running) {
            return applyStopped(repo, pgdata, wanted);
        }
        try (Connection c = Db.connect(conn, "pgstrata wal setup")) {
            String archiveMode = Db.queryString(c, "SHOW archive_mode");
            String walLevel = Db.queryString(c, "SHOW wal_level");
            String replaced = replaced(Db.queryString(c, "SHOW archive_command"), wanted.get("archive_command"));
            keepWhatArchivesAlready(wanted, archiveMode, walLevel);
            for (var e : wanted.entrySet()) {
                // ALTER SYSTEM takes no bind parameters: the value is an SQL literal, quoted by the driver for this session's
                // standard_conforming_strings (the server then writes postgresql.auto.conf with its own escaping).
                Db.execute(c, "ALTER SYSTEM SET " + e.getKey() + " = '" + c.unwrap(PGConnection.class).escapeLiteral(e.getValue()) + "'");
            }
            // WAL summaries (17+): an incremental then reads only the blocks they name. Reloadable.
            if (Integer.parseInt(Db.queryString(c, "SHOW server_version_num")) >= 170000 && !"on".equals(Db.queryString(c, "SHOW summarize_wal"))) {
                Db.execute(c, "ALTER SYSTEM SET summarize_wal = 'on'");
            }
            Db.execute(c, "SELECT pg_reload_conf()");
            archiveHistoryFiles(repo, pgdata);
            boolean restart = !"on".equals(archiveMode) && !"always".equals(archiveMode) || "minimal".equals(walLevel);
            return new Applied("applied with ALTER SYSTEM on " + conn.describe() + replaced, restart);
        } catch (SQLException e) {
            throw Db.sqlFailed("applying the archive settings", e);
        }
    }

    /**
     * Appends the settings to a stopped cluster's postgresql.auto.conf, which its server reads
     * last, after reading what its configuration files already say as the server will (postgres
     * -C): the same settings kept as on a running server. Where they cannot
     * be read so (a configuration kept outside the data directory, as Debian's), all are written,
     * and the result says so.
     */
    private static Applied applyStopped(String repo, Path pgdata, Map<String, String> wanted) {
        Map<String, String> now = configured(pgdata, java.util.List.of("archive_mode", "archive_command", "wal_level"));
        String replaced = "";
        if (now != null) {
            replaced = replaced(now.get("archive_command"), wanted.get("archive_command"));
            keepWhatArchivesAlready(wanted, now.get("archive_mode"), now.get("wal_level"));
        }
        String summaries = org.pgstrata.db.LocalCluster.majorOf(pgdata) >= 17 ? ConfValue.line("summarize_wal", "on") : "";
        try {
            AutoConf.append(pgdata, "Added by pgstrata wal setup: archive into " + repo, lines(wanted) + summaries);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot write " + AutoConf.of(pgdata) + ": " + e.getMessage(), null);
        }
        archiveHistoryFiles(repo, pgdata);
        return new Applied("appended to " + AutoConf.of(pgdata) + "; start the cluster to use them" + replaced
                + (now == null ? " (its configuration files could not be read with postgres -C: archive_mode, wal_level and archive_command"
                        + " were written without looking at what they set)" : ""), false);
    }

    /** Another tool's command (or pgstrata's into another repository) stops archiving when replaced: what to say of {@code previous}. */
    private static String replaced(String previous, String command) {
        return previous == null || previous.isBlank() || previous.equals("(disabled)") || previous.equals(command) ? ""
                : "; it replaces archive_command '" + previous + "', which no longer runs";
    }

    /** Leaves out of {@code wanted} what the server already has that archives as well or better. */
    private static void keepWhatArchivesAlready(Map<String, String> wanted, String archiveMode, String walLevel) {
        if (!"minimal".equals(walLevel)) {
            wanted.remove("wal_level"); // replica or logical already archive everything needed, and logical's slots need logical
        }
        if ("always".equals(archiveMode)) {
            wanted.remove("archive_mode"); // archives as on does, and on a standby it is what makes the standby archive
        }
    }

    /**
     * What the stopped cluster's configuration sets {@code names} to, as its server will read it
     * (postgres -C follows includes and postgresql.auto.conf); null when it cannot be read so.
     */
    private static Map<String, String> configured(Path pgdata, java.util.List<String> names) {
        Map<String, String> values = new LinkedHashMap<>();
        try {
            org.pgstrata.db.PgBinaries bin = org.pgstrata.db.PgBinaries.resolve(null, org.pgstrata.db.LocalCluster.majorOf(pgdata), System.getenv());
            for (String name : names) {
                Process p = new ProcessBuilder(bin.serverCommand("postgres", "-D", pgdata.toString(), "-C", name))
                        .redirectInput(new java.io.File("/dev/null")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return null;
                }
                if (p.exitValue() != 0) {
                    return null;
                }
                values.put(name, out.endsWith("\n") ? out.substring(0, out.length() - 1) : out);
            }
            return values;
        } catch (IOException | PgstrataException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** {@link #requireNoArchiveLibrary(ConnectionSettings)} for a stopped cluster: what its configuration files set (postgres -C). */
    public static void requireNoArchiveLibrary(Path pgdata) {
        Map<String, String> now = configured(pgdata, java.util.List.of("archive_library"));
        if (now != null && !now.get("archive_library").isBlank()) {
            throw new PgstrataException(ErrorCode.SERVER_SETTING, "the configuration of the cluster in " + pgdata + " sets archive_library to '"
                    + now.get("archive_library") + "': PostgreSQL archives with either it or archive_command, never both; nothing was changed",
                    "remove archive_library from the file that sets it, and run this again");
        }
    }

    /**
     * Refuses (exit 20) a server with archive_library set: PostgreSQL archives with one of
     * archive_library and archive_command, so the archive_command written would never run (15:
     * the library wins) or stop all archiving (16 and later: the archiver fails on both set).
     */
    public static void requireNoArchiveLibrary(ConnectionSettings conn) {
        try (Connection c = Db.connect(conn, "pgstrata wal setup")) {
            String library = ArchiveLibrary.of(c);
            if (library != null) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, ArchiveLibrary.describe(c, library) + ": PostgreSQL archives with "
                        + "either it or archive_command, never both; nothing was changed",
                        "remove archive_library (ALTER SYSTEM RESET archive_library, or from the file that sets it), reload, and run this again");
            }
        } catch (SQLException e) {
            throw Db.sqlFailed("reading archive_library", e);
        }
    }

    /**
     * A cluster that was promoted while archiving was off never marked its timeline history
     * files for archiving; without them a restore cannot follow its timeline. Push them now
     * (reading pg_wal is safe on a running cluster; nothing there is written).
     */
    static void archiveHistoryFiles(String repo, Path pgdata) {
        try (var files = Files.list(pgdata.resolve("pg_wal"))) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".history")).sorted().toList()) {
                WalPush.push(repo, p, false, org.pgstrata.api.Compression.ZSTD);
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read " + pgdata.resolve("pg_wal") + ": " + e.getMessage(), null);
        }
    }

    /**
     * Refuses (exit 13) a connection to a server other than the one of {@code pgdata}: --port,
     * PGPORT or a stanza's port naming another cluster on the machine would otherwise get this
     * cluster's archive settings through ALTER SYSTEM.
     */
    public static void requireServerOf(Path pgdata, ConnectionSettings conn) {
        String own;
        try {
            own = org.pgstrata.postgres.ControlFile.read(pgdata).systemIdentifierText();
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + pgdata + "/global/pg_control: " + e.getMessage(), null);
        }
        try (Connection c = Db.connect(conn, "pgstrata wal setup")) {
            org.pgstrata.db.BackupSession.requireServerOf(pgdata, own, conn,
                    Db.queryString(c, "SELECT system_identifier::text FROM pg_control_system()"), Db.queryString(c, "SHOW data_directory"),
                    "; nothing was changed");
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the system identifier", e);
        }
    }

    /**
     * True when the cluster in {@code pgdata} may be running: its postmaster.pid is there, unless
     * that names a process that is gone (a server that crashed, or a host that lost power, leaves
     * the file behind; PostgreSQL and pg_ctl then count it as stopped too). What cannot be read
     * counts as running, so that nothing is written beside a live server.
     */
    public static boolean isRunning(Path pgdata) {
        Path file = pgdata.resolve("postmaster.pid");
        if (!Files.exists(file)) {
            return false;
        }
        try {
            long pid = Long.parseLong(Files.readAllLines(file, StandardCharsets.UTF_8).get(0).trim());
            return pid == 0 || ProcessHandle.of(Math.abs(pid)).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

}
