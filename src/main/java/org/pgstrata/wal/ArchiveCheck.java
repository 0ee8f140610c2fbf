package org.pgstrata.wal;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.CheckRequest;
import org.pgstrata.api.CheckResult;
import org.pgstrata.api.CheckResult.Item;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.storage.s3.S3Location;

/**
 * pgstrata check, as pgBackRest's: the server answers, its data checksums are on, it archives
 * into this repository, and a WAL segment it switches to now arrives there. Each check that
 * cannot pass says so in its own item; the switch runs only when archiving is set up.
 */
public final class ArchiveCheck {
    private static final long POLL_MILLIS = 100;

    private ArchiveCheck() {
    }

    public static CheckResult run(CheckRequest req, Progress progress) {
        long t0 = System.nanoTime();
        List<Item> items = new ArrayList<>();
        String segment = null;
        try (Connection c = connect(req, items)) {
            if (c == null) {
                return new CheckResult(items, null, seconds(t0));
            }
            String sysid = Db.queryString(c, "SELECT system_identifier::text FROM pg_control_system()");
            int major = Db.serverVersionNum(c) / 10000;
            if (req.pgdata() != null) {
                check(items, "pgdata", () -> pgdata(c, req, sysid));
            }
            boolean repoOk = check(items, "repository", () -> repository(req.repo(), sysid, major));
            check(items, "checksums", () -> {
                if (!"on".equals(Db.queryString(c, "SHOW data_checksums"))) {
                    throw new PgstrataException(ErrorCode.SERVER_SETTING, "data checksums are off on " + req.connection().describe(),
                            "incremental and differential backups need them: stop the cluster and run pg_checksums --enable");
                }
                return "data checksums are on";
            });
            boolean archiveOk = check(items, "archive_command", () -> archiveCommand(c, req));
            if (repoOk && archiveOk) {
                if ("t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()"))) {
                    items.add(Item.passed("archiving", "skipped: the server is a standby, which cannot switch WAL"));
                } else {
                    String[] seg = new String[1];
                    check(items, "archiving", () -> {
                        seg[0] = switchWal(c);
                        progress.step("switched WAL: waiting for " + seg[0] + " to reach " + S3Location.describe(req.repo()));
                        return waitForSegment(c, req, seg[0]);
                    });
                    segment = seg[0];
                }
            }
        } catch (SQLException e) {
            items.add(Item.failed("connection", Db.sqlFailed("checking " + req.connection().describe(), e)));
        }
        return new CheckResult(items, segment, seconds(t0));
    }

    private static Connection connect(CheckRequest req, List<Item> items) {
        try {
            Connection c = Db.connect(req.connection(), "pgstrata check");
            items.add(Item.passed("connection", "connected to " + req.connection().describe()));
            return c;
        } catch (PgstrataException e) {
            items.add(Item.failed("connection", e));
            return null;
        }
    }

    private interface Check {
        String run() throws SQLException, IOException;
    }

    /** Runs one check into {@code items}; true when it passed. */
    private static boolean check(List<Item> items, String name, Check check) {
        try {
            items.add(Item.passed(name, check.run()));
            return true;
        } catch (PgstrataException e) {
            items.add(Item.failed(name, e));
        } catch (SQLException e) {
            items.add(Item.failed(name, Db.sqlFailed(name + " check", e)));
        } catch (IOException e) {
            items.add(Item.failed(name, new PgstrataException(ErrorCode.IO, name + " check failed: " + e.getMessage(), null)));
        }
        return false;
    }

    /** The --pgdata (a stanza's pgdata) is the server's data directory, as a backup requires (exit 13 otherwise). */
    private static String pgdata(Connection c, CheckRequest req, String sysid) {
        java.nio.file.Path pgdata = req.pgdata();
        String own;
        try {
            own = org.pgstrata.postgres.ControlFile.read(pgdata).systemIdentifierText();
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + pgdata.resolve("global/pg_control") + ": " + e.getMessage(),
                    "pass --pgdata (or set the stanza's pgdata to) the data directory of the server checked");
        }
        String serverDir;
        try {
            serverDir = Db.queryString(c, "SHOW data_directory");
        } catch (SQLException e) {
            serverDir = null; // a user without pg_read_all_settings: the system identifier is all there is to compare
        }
        org.pgstrata.db.BackupSession.requireServerOf(pgdata, own, req.connection(), sysid, serverDir, "");
        return pgdata + " is the data directory of the server (system identifier " + sysid + ")";
    }

    private static String repository(String location, String sysid, int major) {
        try (Repository r = Repository.open(location)) {
            if (r.info().isEmpty()) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + r.describe() + " is not set up (no repo.json)",
                        "pgstrata wal setup --apply (or repo init) creates it for the cluster");
            }
            r.checkCluster(sysid, major);
            return "repository " + r.describe() + " serves this cluster (system identifier " + sysid + ")";
        }
    }

    private static String archiveCommand(Connection c, CheckRequest req) throws SQLException {
        String mode = Db.queryString(c, "SHOW archive_mode");
        String command = Db.queryString(c, "SHOW archive_command");
        String fix = "pgstrata wal setup --apply writes it (archive_mode takes a restart)";
        if ("off".equals(mode)) {
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, "archive_mode is off: the server archives no WAL", fix);
        }
        String library = ArchiveLibrary.of(c);
        if (library != null) {
            boolean both = command != null && !command.isBlank() && !command.equals("(disabled)");
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, ArchiveLibrary.describe(c, library) + (both && Db.serverVersionNum(c) >= 160000
                    ? ": with archive_command also set, the server archives nothing (its archiver fails on both)"
                    : ": the server archives with it, not with archive_command"),
                    "remove archive_library (ALTER SYSTEM RESET archive_library, or from the file that sets it) and reload; " + fix);
        }
        if (command == null || command.isBlank() || command.equals("(disabled)")) {
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, "archive_command is empty: the server archives no WAL", fix);
        }
        List<String> args = pushArguments(command);
        if (args == null) {
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, "archive_command does not run pgstrata wal push: " + command, fix);
        }
        String target;
        try {
            target = req.archiveTarget().apply(args);
        } catch (PgstrataException e) {
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, "cannot tell where archive_command archives: " + e.getMessage(),
                    e.hint());
        }
        if (!sameRepository(target, req.repo())) {
            throw new PgstrataException(ErrorCode.ARCHIVE_NOT_CONFIGURED, "archive_command archives into " + S3Location.describe(target)
                    + ", not into " + S3Location.describe(req.repo()), fix);
        }
        return "archive_mode is " + mode + " and archive_command archives into " + S3Location.describe(req.repo());
    }

    /**
     * The arguments of the {@code wal push} in an archive_command, as the shell passes them (%p
     * excluded, PostgreSQL's %% decoded); null when it runs no {@code wal push ... %p}. The
     * --stanza and --config that stand before "wal" ({@code pgstrata --stanza main wal push %p},
     * as pgBackRest's {@code pgbackrest --stanza=main archive-push %p} is written) come first,
     * and before them the assignments the shell puts into the command's environment
     * ({@code PGSTRATA_REPO=/backup pgstrata wal push %p}, or after {@code env}), as written.
     */
    public static List<String> pushArguments(String archiveCommand) {
        List<String> words = shellWords(archiveCommand);
        if (words == null) {
            return null;
        }
        for (int i = words.size() - 2; i >= 0; i--) {
            if (words.get(i).equals("wal") && words.get(i + 1).equals("push")) {
                List<String> args = new ArrayList<>();
                int k = i;
                while (true) {
                    if (k >= 1 && (words.get(k - 1).startsWith("--stanza=") || words.get(k - 1).startsWith("--config="))) {
                        args.add(0, words.get(k - 1).replace("%%", "%"));
                        k -= 1;
                    } else if (k >= 2 && (words.get(k - 2).equals("--stanza") || words.get(k - 2).equals("--config"))) {
                        args.add(0, words.get(k - 1).replace("%%", "%"));
                        args.add(0, words.get(k - 2));
                        k -= 2;
                    } else {
                        break;
                    }
                }
                // The simple command that runs it starts after the last separator; NAME=value words at its start (after env or
                // exec too) set the program's environment. The program may be several words (java ... Main), hence from the start.
                int start = k - 1;
                while (start > 0 && !List.of(";", "&&", "||", "|", "then", "do").contains(words.get(start - 1))) {
                    start--;
                }
                List<String> assignments = new ArrayList<>();
                for (int j = start; j < k - 1; j++) {
                    String w = words.get(j);
                    if (CheckRequest.ASSIGNMENT.matcher(w).matches()) {
                        assignments.add(w.replace("%%", "%"));
                    } else if (!w.equals("env") && !w.equals("exec")) {
                        break;
                    }
                }
                args.addAll(0, assignments);
                for (int j = i + 2; j < words.size(); j++) {
                    String w = words.get(j);
                    if (w.equals("%p")) {
                        return args;
                    }
                    if (w.equals(";") || w.equals("fi")) {
                        break;
                    }
                    args.add(w.replace("%%", "%"));
                }
                return null;
            }
        }
        return null;
    }

    /** sh's word splitting for the quoting Self.quote writes ('..', '\'' and "..", backslashes); ';' is a word. Null if unbalanced. */
    static List<String> shellWords(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = null;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\'') {
                int end = s.indexOf('\'', i + 1);
                if (end < 0) {
                    return null;
                }
                w = w == null ? new StringBuilder() : w;
                w.append(s, i + 1, end);
                i = end;
            } else if (ch == '"') {
                w = w == null ? new StringBuilder() : w;
                int j = i + 1;
                for (; j < s.length() && s.charAt(j) != '"'; j++) {
                    if (s.charAt(j) == '\\' && j + 1 < s.length() && "\"\\$`".indexOf(s.charAt(j + 1)) >= 0) {
                        j++;
                    }
                    w.append(s.charAt(j));
                }
                if (j >= s.length()) {
                    return null;
                }
                i = j;
            } else if (ch == '\\' && i + 1 < s.length()) {
                w = w == null ? new StringBuilder() : w;
                w.append(s.charAt(++i));
            } else if (Character.isWhitespace(ch) || ch == ';') {
                if (w != null) {
                    words.add(w.toString());
                    w = null;
                }
                if (ch == ';') {
                    words.add(";");
                }
            } else {
                w = w == null ? new StringBuilder() : w;
                w.append(ch);
            }
        }
        if (w != null) {
            words.add(w.toString());
        }
        return words;
    }

    /** Whether two repository locations name the same place (a directory by its absolute path or as the same file; a bucket, prefix and endpoint). */
    static boolean sameRepository(String a, String b) {
        if (S3Location.isS3(a) || S3Location.isS3(b)) {
            if (!S3Location.isS3(a) || !S3Location.isS3(b)) {
                return false;
            }
            S3Location x = S3Location.parse(a);
            S3Location y = S3Location.parse(b);
            return x.bucket().equals(y.bucket()) && x.prefix().equals(y.prefix()) && java.util.Objects.equals(x.endpoint(), y.endpoint());
        }
        Path x = Path.of(a).toAbsolutePath().normalize();
        Path y = Path.of(b).toAbsolutePath().normalize();
        if (x.equals(y)) {
            return true;
        }
        try {
            return java.nio.file.Files.isSameFile(x, y); // one spelled through a symbolic link (or a bind mount) to the other
        } catch (java.io.IOException | SecurityException e) {
            return false;
        }
    }

    /** Writes a WAL record (a restore point), switches to a new segment and returns the one just completed. */
    private static String switchWal(Connection c) throws SQLException {
        // A record of its own, so that the switch happens even on an idle server and the segment holds something.
        Db.queryString(c, "SELECT pg_create_restore_point('pgstrata check')");
        return Db.queryString(c, "SELECT pg_walfile_name(pg_switch_wal())");
    }

    private record Archiver(long archived, long failed, String lastFailedWal, String lastFailedTime, String lastArchivedWal) {
        static Archiver read(Connection c) throws SQLException {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT archived_count, failed_count, last_failed_wal, last_failed_time::text, last_archived_wal FROM pg_stat_archiver")) {
                rs.next();
                return new Archiver(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5));
            }
        }

        /**
         * Whether the server itself counts {@code segment} as archived: it archives in order, so a
         * last archived segment at or past it (same timeline) means every one before it went too.
         */
        boolean archivedUpTo(String segment) {
            return lastArchivedWal != null && lastArchivedWal.length() >= 24 && lastArchivedWal.substring(0, 8).equals(segment.substring(0, 8))
                    && lastArchivedWal.substring(0, 24).compareTo(segment) >= 0;
        }
    }

    /**
     * Waits until {@code segment} is in the repository and the server counts it archived (a push
     * can carry later segments into the repository while an earlier one keeps failing; the server
     * then never gets past the failing one). Fails at once when the archiver counts a new
     * failure, and after {@code timeoutSeconds} without the archiver archiving anything.
     */
    private static String waitForSegment(Connection c, CheckRequest req, String segment) throws SQLException, IOException {
        long t0 = System.nanoTime();
        Archiver start = Archiver.read(c);
        Archiver last = start;
        long lastProgress = System.nanoTime();
        try (Repository r = Repository.open(req.repo())) {
            WalArchive archive = new WalArchive(r.storage());
            while (true) {
                // The statistics are a snapshot per transaction; a new one each time.
                Db.execute(c, "SELECT pg_stat_clear_snapshot()");
                Archiver now = Archiver.read(c);
                if (now.archivedUpTo(segment) && archive.find(segment).isPresent()) {
                    break;
                }
                if (now.failed() > start.failed()) {
                    throw new PgstrataException(ErrorCode.ARCHIVE_FAILING, "archive_command failed for " + now.lastFailedWal() + " ("
                            + (now.failed() - start.failed()) + " failure(s) since the check began, the last at " + now.lastFailedTime()
                            + "); " + segment + " is not archived into " + r.describe(),
                            "the server log says why archive_command failed; run it by hand as the server's user to see");
                }
                if (now.archived() > last.archived()) {
                    lastProgress = System.nanoTime();
                    last = now;
                }
                if (System.nanoTime() - lastProgress > req.timeoutSeconds() * 1_000_000_000L) {
                    throw new PgstrataException(ErrorCode.WAL_MISSING, segment + " did not reach " + r.describe() + " within "
                            + req.timeoutSeconds() + " s, and the archiver archived nothing meanwhile",
                            "see the server log; a slow archive may need a longer --check-timeout");
                }
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for " + segment);
                }
            }
        }
        return segment + " was switched to and reached " + S3Location.describe(req.repo()) + " in "
                + String.format(java.util.Locale.ROOT, "%.1f", seconds(t0)) + " s";
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
