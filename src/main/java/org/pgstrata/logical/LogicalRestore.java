package org.pgstrata.logical;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.LogicalRestoreResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.PgClient;
import org.pgstrata.manifest.CorruptObjectException;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.LogicalManifest.LogicalTable;
import org.pgstrata.manifest.LogicalManifest.SequenceValue;
import org.pgstrata.manifest.LogicalManifest.StoredFile;
import org.pgstrata.manifest.Repository;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

/**
 * Restores a logical backup into a running server. Every object is read back and checked into a
 * work directory before the server is touched. A whole database is restored under a temporary
 * name and renamed into place only once everything succeeded, so a failure (or --clean) never
 * loses the database that was there.
 *
 * <p>A full is one pg_restore. A full plus differential: the differential's schema (pre-data),
 * the full's data for the tables the differential holds as deltas, the tables it holds whole,
 * then the deletes and upserts of every table in one transaction, the sequences, and last the
 * differential's indexes, constraints and triggers (post-data).
 */
public final class LogicalRestore {
    private final Progress progress;
    private final Map<String, String> env;

    public LogicalRestore(Progress progress, Map<String, String> env) {
        this.progress = progress;
        this.env = env;
    }

    public LogicalRestoreResult run(LogicalRestoreRequest req) {
        long t0 = System.nanoTime();
        if (req.toDb() == null || req.toDb().isBlank()) {
            throw new PgstrataException(ErrorCode.USAGE, "a logical restore needs --to-db NAME", "name the database to restore into");
        }
        try (Repository repo = Repository.open(req.repo())) {
            repo.requireInfo();
            LogicalManifest m = req.backupId() != null ? repo.logicalManifest(req.backupId()) : newest(repo);
            LogicalManifest full = m.differential() ? reference(repo, m) : m;
            PgClient pgRestore = PgClient.find("pg_restore", PgClient.majorOf(full.pgDumpVersion()),
                    "the pg_dump " + full.pgDumpVersion() + " that wrote backup " + full.id(), req.pgBin(), env);
            LogicalTable only = req.table() == null ? null : findTable(m, req.table());
            List<String> chain = m.differential() ? List.of(full.id(), m.id()) : List.of(m.id());
            try (Connection admin = Db.connect(req.connection(), "pgstrata logical restore")) {
                boolean exists = databaseExists(admin, req.toDb());
                ConnectionSettings server = req.connection();
                if (only == null && exists && !req.clean()) {
                    throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "database " + req.toDb() + " already exists on " + server.host() + ":"
                            + server.port() + "; nothing was restored",
                            "choose a new --to-db (it is created), or add --clean to replace it once the restore has succeeded");
                }
                if (only != null && !exists && !req.create()) {
                    throw new PgstrataException(ErrorCode.NOT_FOUND, "database " + req.toDb() + " does not exist on " + server.host() + ":"
                            + server.port() + "; nothing was restored", "add --create to create it, or name an existing database with --to-db");
                }
                if (only != null && exists && !req.clean() && tableExists(server.withDbname(req.toDb()), only)) {
                    throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "table " + only.qualified() + " already exists in database "
                            + req.toDb() + "; nothing was restored", "add --clean to drop it first, or restore into another database");
                }
                Path work = Files.createTempDirectory("pgstrata-logical-restore-");
                try {
                    progress.step("reading backup " + String.join(" + ", chain) + " from " + repo.describe());
                    Path fullDump = materializeDump(repo, full, work.resolve("full"));
                    Path schemaDump = m.differential() ? materializeDump(repo, m, work.resolve("diff")) : null;
                    Map<String, Path> files = new java.util.HashMap<>();
                    if (m.differential()) {
                        for (LogicalTable t : m.tables()) {
                            if (only == null || only.equals(t)) {
                                for (StoredFile f : new StoredFile[] {t.rowsObject(), t.deletes()}) {
                                    if (f != null) {
                                        files.put(f.name(), materialize(repo, m, f, work.resolve(f.name())));
                                    }
                                }
                            }
                        }
                    }
                    Steps steps = new Steps(pgRestore, req, m, full, fullDump, schemaDump, files, work, only);
                    List<String> whole = m.tables().stream().filter(t -> LogicalTable.WHOLE.equals(t.mode()) && (only == null || only.equals(t)))
                            .map(t -> t.qualified() + ": " + t.reason()).toList();
                    for (String w : whole) {
                        progress.warn("table " + w.replace(": ", " was stored whole in the differential (") + ")");
                    }
                    if (only == null) {
                        String temp = "pgstrata_restore_" + ProcessHandle.current().pid() + "_" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
                        Db.execute(admin, "CREATE DATABASE " + Catalog.ident(temp) + " TEMPLATE template0");
                        boolean done = false;
                        try {
                            steps.run(server.withDbname(temp));
                            if (exists) {
                                progress.step("replacing database " + req.toDb());
                                Db.execute(admin, "DROP DATABASE " + Catalog.ident(req.toDb()));
                            }
                            Db.execute(admin, "ALTER DATABASE " + Catalog.ident(temp) + " RENAME TO " + Catalog.ident(req.toDb()));
                            done = true;
                        } finally {
                            if (!done) {
                                dropQuietly(admin, temp);
                            }
                        }
                    } else {
                        if (!exists) {
                            Db.execute(admin, "CREATE DATABASE " + Catalog.ident(req.toDb()) + " TEMPLATE template0");
                        }
                        ConnectionSettings target = server.withDbname(req.toDb());
                        if (exists && req.clean()) {
                            try (Connection tc = Db.connect(target)) {
                                Db.execute(tc, "DROP TABLE IF EXISTS " + Catalog.ident(only.schema()) + "." + Catalog.ident(only.name()) + " CASCADE");
                            }
                        }
                        boolean done = false;
                        try {
                            steps.run(target);
                            done = true;
                        } finally {
                            if (!done) {
                                if (!exists) {
                                    dropQuietly(admin, req.toDb());
                                } else {
                                    try (Connection tc = Db.connect(target)) {
                                        Db.execute(tc, "DROP TABLE IF EXISTS " + Catalog.ident(only.schema()) + "." + Catalog.ident(only.name()) + " CASCADE");
                                    } catch (SQLException | PgstrataException e) {
                                        progress.warn("could not remove the half-restored table " + only.qualified() + ": " + e.getMessage());
                                    }
                                }
                            }
                        }
                    }
                    long changed = 0;
                    long deleted = 0;
                    for (LogicalTable t : m.differential() ? m.tables() : List.<LogicalTable>of()) {
                        if (LogicalTable.DELTA.equals(t.mode()) && (only == null || only.equals(t))) {
                            changed += t.changedRows();
                            deleted += t.deletedRows();
                        }
                    }
                    return new LogicalRestoreResult(m.id(), chain, req.toDb(), only == null ? null : only.qualified(),
                            only == null ? m.tables().size() : 1, whole, changed, deleted, (System.nanoTime() - t0) / 1e9);
                } finally {
                    org.pgstrata.api.FileTrees.delete(work);
                }
            }
        } catch (SQLException e) {
            throw Db.sqlFailed("the logical restore", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "the logical restore failed: " + e.getMessage(), "check free space in " + System.getProperty("java.io.tmpdir"), e);
        }
    }

    private static LogicalManifest newest(Repository repo) {
        List<LogicalManifest> all = repo.logicalBackups();
        if (all.isEmpty()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe() + " holds no logical backup",
                    "take one with 'pgstrata backup --logical --type full', or name one with --backup");
        }
        return all.get(all.size() - 1);
    }

    /** The full a differential builds on: present and intact, or the restore stops before it starts. */
    static LogicalManifest reference(Repository repo, LogicalManifest diff) {
        try {
            if (!repo.storage().exists(Repository.logicalManifestKey(diff.reference()))) {
                throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "logical differential " + diff.id() + " builds on logical full "
                        + diff.reference() + ", which is not in " + repo.describe() + "; nothing was restored",
                        "restore another backup (pgstrata list shows them), and take a new logical full");
            }
        } catch (IOException e) {
            throw repo.io("read backup " + diff.reference(), e);
        }
        LogicalManifest full = repo.logicalManifest(diff.reference());
        if (full.differential() || !full.database().equals(diff.database()) || !full.systemIdentifier().equals(diff.systemIdentifier())) {
            throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "logical differential " + diff.id() + " names " + full.id()
                    + " as its full, but that is not a logical full of database " + diff.database() + "; nothing was restored",
                    "restore another backup");
        }
        return full;
    }

    private static LogicalTable findTable(LogicalManifest m, String name) {
        String schema = null;
        String table = name;
        int dot = name.indexOf('.');
        if (dot > 0) {
            schema = name.substring(0, dot);
            table = name.substring(dot + 1);
        }
        List<LogicalTable> matches = new ArrayList<>();
        for (LogicalTable t : m.tables()) {
            if (t.name().equals(table) && (schema == null || t.schema().equals(schema))) {
                matches.add(t);
            }
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        throw new PgstrataException(matches.isEmpty() ? ErrorCode.NOT_FOUND : ErrorCode.USAGE,
                matches.isEmpty() ? "backup " + m.id() + " has no table " + name : "table name " + name + " is ambiguous in backup " + m.id(),
                matches.isEmpty() ? "tables in it: " + String.join(", ", m.tables().stream().map(LogicalTable::qualified).limit(10).toList())
                        : "qualify it with its schema, e.g. " + matches.get(0).qualified());
    }

    private static boolean databaseExists(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static boolean tableExists(ConnectionSettings s, LogicalTable t) throws SQLException {
        try (Connection c = Db.connect(s); PreparedStatement ps = c.prepareStatement(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void dropQuietly(Connection admin, String db) {
        try {
            Db.execute(admin, "DROP DATABASE IF EXISTS " + Catalog.ident(db));
        } catch (SQLException e) {
            progress.warn("could not remove the half-restored database " + db + ": " + e.getMessage().split("\n")[0]);
        }
    }

    /** The backup's archive on local disk: a file (custom format) or a directory. */
    private static Path materializeDump(Repository repo, LogicalManifest m, Path dest) throws IOException {
        if (LogicalManifest.DIRECTORY.equals(m.dumpFormat())) {
            Files.createDirectories(dest);
            for (StoredFile f : m.dump()) {
                materialize(repo, m, f, dest.resolve(f.name().substring(f.name().indexOf('/') + 1)));
            }
            return dest;
        }
        return materialize(repo, m, m.dump().get(0), dest.resolveSibling(dest.getFileName() + ".dump"));
    }

    /** Writes an object's content to {@code dest}, checked against the stored checksum and the manifest's. */
    private static Path materialize(Repository repo, LogicalManifest m, StoredFile f, Path dest) throws IOException {
        try (InputStream in = repo.objects().openContent(f.object(), f.size(), f.checksum());
             OutputStream out = Files.newOutputStream(dest)) {
            in.transferTo(out);
            return dest;
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "backup " + m.id() + " is damaged: " + e.getMessage() + "; nothing was restored",
                    "run 'pgstrata verify', and restore another backup");
        }
    }

    /** The restore itself, into one database. */
    private final class Steps {
        private final PgClient pgRestore;
        private final LogicalRestoreRequest req;
        private final LogicalManifest m;
        private final LogicalManifest full;
        private final Path fullDump;
        private final Path schemaDump;
        private final Map<String, Path> files;
        private final Path work;
        private final LogicalTable only;

        Steps(PgClient pgRestore, LogicalRestoreRequest req, LogicalManifest m, LogicalManifest full, Path fullDump, Path schemaDump,
              Map<String, Path> files, Path work, LogicalTable only) {
            this.pgRestore = pgRestore;
            this.req = req;
            this.m = m;
            this.full = full;
            this.fullDump = fullDump;
            this.schemaDump = schemaDump;
            this.files = files;
            this.work = work;
            this.only = only;
        }

        void run(ConnectionSettings target) throws IOException, SQLException {
            if (!m.differential()) {
                progress.step("pg_restore of " + full.id() + " into " + req.toDb());
                pgRestore(target, fullDump, null, only == null ? null : tocList(fullDump, this::ofTable, "table"));
                return;
            }
            progress.step("schema of " + m.id() + " into " + req.toDb());
            pgRestore(target, schemaDump, "pre-data", only == null ? null : tocList(schemaDump, this::ofTable, "table"));
            List<LogicalTable> deltas = m.tables().stream().filter(t -> LogicalTable.DELTA.equals(t.mode()) && (only == null || only.equals(t))).toList();
            if (!deltas.isEmpty()) {
                progress.step("data of " + deltas.size() + " table(s) from " + full.id());
                Path list = tocList(fullDump, line -> deltas.stream().anyMatch(t -> line.startsWith("TABLE DATA " + t.schema() + " " + t.name() + " ")),
                        "data");
                pgRestore(target, fullDump, "data", list);
            }
            try (Connection c = Db.connect(target, "pgstrata logical restore")) {
                // as pg_restore does: a policy that would hide rows from the deletes is an error, not a silent miss
                Db.execute(c, "SET row_security = off");
                CopyManager copy = new CopyManager(c.unwrap(BaseConnection.class));
                for (LogicalTable t : m.tables()) {
                    if (LogicalTable.WHOLE.equals(t.mode()) && (only == null || only.equals(t)) && t.rowsObject() != null) {
                        progress.step("rows of " + t.qualified() + " from " + m.id() + " (stored whole: " + t.reason() + ")");
                        // a table whose columns were all dropped has rows but no column to list: COPY without a list
                        // takes every column, none here (generated columns are never listed, the server computes them)
                        copyIn(copy, "COPY " + sqlName(t) + (t.columns().isEmpty() ? "" : " (" + columns(t) + ")") + " FROM STDIN",
                                files.get(t.rowsObject().name()));
                    }
                }
                c.setAutoCommit(false);
                progress.step("applying the changes of " + m.id() + " (" + deltas.size() + " table(s)) in one transaction");
                for (LogicalTable t : deltas) {
                    apply(c, copy, t);
                }
                for (SequenceValue s : m.sequences()) {
                    if (only == null || only.ownedSequences().contains(s.name()) && only.schema().equals(s.schema())) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT setval(?::regclass, ?, ?)")) {
                            ps.setString(1, Catalog.ident(s.schema()) + "." + Catalog.ident(s.name()));
                            ps.setLong(2, s.lastValue());
                            ps.setBoolean(3, s.isCalled());
                            ps.execute();
                        }
                    }
                }
                c.commit();
            }
            progress.step("indexes and constraints of " + m.id());
            pgRestore(target, schemaDump, "post-data", only == null ? null : tocList(schemaDump, this::ofTable, "table-post"));
        }

        /** Deletes the keys deleted and the old versions of the changed rows, then inserts the changed rows. */
        private void apply(Connection c, CopyManager copy, LogicalTable t) throws SQLException, IOException {
            String cols = columns(t);
            String keyCols = String.join(", ", t.key().stream().map(Catalog::ident).toList());
            String match = String.join(" AND ", t.key().stream().map(k -> "t." + Catalog.ident(k) + " = d." + Catalog.ident(k)).toList());
            try (Statement st = c.createStatement()) {
                if (t.deletes() != null) {
                    st.execute("CREATE TEMP TABLE pgstrata_deletes AS SELECT " + keyCols + " FROM " + sqlName(t) + " WITH NO DATA");
                    copyIn(copy, "COPY pgstrata_deletes FROM STDIN", files.get(t.deletes().name()));
                    // ONLY: a table that others inherit from holds their rows too, and theirs are not this table's changes
                    st.execute("DELETE FROM ONLY " + sqlName(t) + " t USING pgstrata_deletes d WHERE " + match);
                    st.execute("DROP TABLE pgstrata_deletes");
                }
                if (t.rowsObject() != null) {
                    st.execute("CREATE TEMP TABLE pgstrata_rows AS SELECT " + cols + " FROM " + sqlName(t) + " WITH NO DATA");
                    copyIn(copy, "COPY pgstrata_rows FROM STDIN", files.get(t.rowsObject().name()));
                    st.execute("DELETE FROM ONLY " + sqlName(t) + " t USING pgstrata_rows d WHERE " + match);
                    st.execute("INSERT INTO " + sqlName(t) + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols + " FROM pgstrata_rows");
                    st.execute("DROP TABLE pgstrata_rows");
                }
            }
        }

        private void copyIn(CopyManager copy, String sql, Path file) throws SQLException, IOException {
            try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                copy.copyIn(sql, in, 1 << 16);
            }
        }

        /** TOC entries (as pg_restore -l describes them, after the OIDs) that belong to the one table restored. */
        private boolean ofTable(String desc) {
            String s = only.schema();
            String n = only.name();
            if (desc.startsWith("TABLE " + s + " " + n + " ") || desc.startsWith("TABLE DATA " + s + " " + n + " ")
                    || desc.startsWith("CONSTRAINT " + s + " " + n + " ") || desc.startsWith("DEFAULT " + s + " " + n + " ")) {
                return true;
            }
            for (String idx : only.indexes()) {
                if (desc.startsWith("INDEX " + s + " " + idx + " ")) {
                    return true;
                }
            }
            for (String seq : only.ownedSequences()) {
                for (String kind : List.of("SEQUENCE ", "SEQUENCE SET ", "SEQUENCE OWNED BY ")) {
                    if (desc.startsWith(kind + s + " " + seq + " ")) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** A pg_restore -L list of the archive's entries that {@code keep} accepts. */
        private Path tocList(Path archive, Predicate<String> keep, String name) throws IOException {
            String toc = runPgRestore(List.of("--list", archive.toString()), null, "list " + archive.getFileName());
            StringBuilder out = new StringBuilder();
            for (String line : toc.split("\n")) {
                if (line.isBlank() || line.startsWith(";")) {
                    continue;
                }
                String rest = line.substring(line.indexOf(';') + 1).trim();
                String[] parts = rest.split(" ", 3);
                if (parts.length == 3 && keep.test(parts[2])) {
                    out.append(line).append('\n');
                }
            }
            Path list = work.resolve(name + "-" + archive.getFileName() + ".list");
            Files.writeString(list, out.toString());
            return list;
        }

        private void pgRestore(ConnectionSettings target, Path archive, String section, Path list) throws IOException {
            List<String> args = new ArrayList<>(List.of("--dbname=" + conninfo(target.dbname()), "--exit-on-error", "--no-password"));
            if (req.jobs() > 1) {
                args.add("--jobs=" + req.jobs());
            }
            if (section != null) {
                args.add("--section=" + section);
            }
            if (list != null) {
                args.add("--use-list=" + list);
            }
            if (req.noOwner()) {
                args.add("--no-owner");
            }
            args.add(archive.toString());
            runPgRestore(args, target, "restore " + (section == null ? "" : section + " of ") + archive.getFileName());
        }

        /** Runs pg_restore; returns what it printed on standard output. */
        private String runPgRestore(List<String> args, ConnectionSettings target, String what) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(pgRestore.program().toString());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (target != null) {
                pb.environment().putAll(PgClient.libpqEnv(target, Map.of()));
            }
            Path out = Files.createTempFile(work, "pg_restore-", ".out");
            Path err = Files.createTempFile(work, "pg_restore-", ".err");
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = pb.start();
            try {
                if (!p.waitFor(24, TimeUnit.HOURS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new PgstrataException(ErrorCode.INTERNAL, "interrupted while pg_restore ran", null);
            }
            if (p.exitValue() != 0) {
                throw new PgstrataException(ErrorCode.DUMP_FAILED, "pg_restore failed to " + what + " (exit " + p.exitValue() + "): "
                        + PgClient.lastLines(err, 3)
                        + "; the target was left as it was", "see the message above");
            }
            return Files.readString(out);
        }
    }

    private static String sqlName(LogicalTable t) {
        return Catalog.ident(t.schema()) + "." + Catalog.ident(t.name());
    }

    private static String columns(LogicalTable t) {
        return String.join(", ", t.columns().stream().map(c -> Catalog.ident(c.name())).toList());
    }

    /** A libpq connection string naming one database, whatever characters its name has. */
    static String conninfo(String dbname) {
        return "dbname='" + dbname.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
