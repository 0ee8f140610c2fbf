package org.pgstrata.logical;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.PgClient;
import org.pgstrata.logical.Catalog.KeyKind;
import org.pgstrata.logical.Catalog.Table;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.LogicalManifest.LogicalTable;
import org.pgstrata.manifest.LogicalManifest.StoredFile;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;
import org.postgresql.core.BaseConnection;

/**
 * Logical backups of one database, in one repeatable-read snapshot that pg_dump shares
 * (--snapshot). A full is pg_dump's archive (pg_dump writes it uncompressed and pgstrata
 * compresses it, never both) plus a key index per table with a primary key and an index of the
 * large objects. A differential is an archive of everything but the data section (schema, large
 * objects' definitions, materialized views' refreshes), the sequences' values, per table the rows
 * that differ from the full's key index (inserted or updated, in COPY text) and the keys it
 * lacks (deleted), and the large objects new or changed since the full and those gone; a table
 * that cannot be compared (no primary key, columns or key changed, new) is stored whole and says
 * why. Both record what pg_restore restores only with --create: the database's settings and
 * comment.
 */
public final class LogicalBackup {
    private static final DateTimeFormatter ID_FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    private static final String VERSION = LogicalBackup.class.getPackage().getImplementationVersion() == null
            ? "dev" : LogicalBackup.class.getPackage().getImplementationVersion();

    /**
     * COPY text must be the same in the full and every differential: pin the settings that change
     * it. row_security off, as pg_dump sets it: a scan that a policy would filter fails instead of
     * silently missing rows. lc_monetary C, as pg_dump's sessions get it too ({@link PgClient#withSettings}):
     * money written under a server's German default reads nowhere else.
     */
    private static final String SESSION_SETTINGS = "SET DateStyle = ISO; SET IntervalStyle = postgres; SET TimeZone = 'UTC'; "
            + "SET extra_float_digits = 3; SET bytea_output = hex; SET row_security = off; SET lc_monetary = '"
            + LogicalManifest.MONEY_LOCALE + "'";

    /**
     * Lifts temp_file_limit for this session where the role may (a superuser; on 15 and later a
     * role granted SET on it), else leaves the server's. A key index reads its table in key order,
     * and a text key (ordered COLLATE "C", which no index serves) is sorted by the server, in
     * temporary files as large as the table: a server with temp_file_limit in postgresql.conf (a
     * guard against runaway queries) stopped the backup of any such table larger than the limit,
     * where pg_dump, which does not sort, copies it. Db.sqlFailed says what to do otherwise.
     */
    private static void withoutTempFileLimit(Connection c) throws SQLException {
        String may = c.getMetaData().getDatabaseMajorVersion() >= 15 ? "has_parameter_privilege('temp_file_limit', 'SET')"
                : "current_setting('is_superuser') = 'on'";
        Db.queryString(c, "SELECT set_config('temp_file_limit', '-1', false) WHERE " + may);
    }

    private final Clock clock;
    private final Progress progress;
    private final Map<String, String> env;

    public LogicalBackup(Clock clock, Progress progress, Map<String, String> env) {
        this.clock = clock;
        this.progress = progress;
        this.env = env;
    }

    public LogicalBackupResult run(LogicalBackupRequest req) {
        if (req.type() != BackupType.FULL && req.type() != BackupType.DIFF) {
            throw new PgstrataException(ErrorCode.USAGE, "a logical backup is --type full or diff, not " + req.type().label(),
                    "use --type full or --type diff with --logical");
        }
        long t0 = System.nanoTime();
        Instant startTime = Instant.now(clock);
        warmUpInBackground();
        // pg_dump's version is asked while this thread connects; checked against the server's after
        CompletableFuture<PgClient> anyPgDump = CompletableFuture.supplyAsync(() -> PgClient.find("pg_dump", 0, "", req.pgBin(), env));
        try (Connection c = Db.connectForCopy(req.connection(), "pgstrata logical backup")) {
            int versionNum = Db.serverVersionNum(c);
            String serverVersion = Db.queryString(c, "SHOW server_version");
            PgClient found;
            try {
                found = anyPgDump.join();
            } catch (java.util.concurrent.CompletionException e) {
                found = null; // not found at all: the lookup below says so
            }
            PgClient pgDump = found != null && found.major() >= versionNum / 10000 ? found
                    : PgClient.find("pg_dump", versionNum / 10000, "the server (PostgreSQL " + serverVersion + ")", req.pgBin(), env);
            String systemId = Db.queryString(c, "SELECT system_identifier::text FROM pg_control_system()");
            String database = Db.queryString(c, "SELECT current_database()");
            String serverEncoding = Db.queryString(c, "SHOW server_encoding");
            boolean utf8 = List.of("UTF8", Db.SQL_ASCII).contains(serverEncoding);
            // A SQL_ASCII database's rows are copied as the bytes they are (Db.SQL_ASCII): under UTF8 a Latin-1 byte is an error
            String clientEncoding = Db.SQL_ASCII.equals(serverEncoding) ? Db.SQL_ASCII : null;
            try (Repository repo = Repository.open(req.repo())) {
                repo.initialize(systemId, versionNum / 10000, clock);
                repo.createdClearDespitePassphrase().ifPresent(progress::warn);
                try (Storage.RepositoryLock lock = repo.lock("backup --logical", clock)) {
                    List<String> leftovers = repo.removeIncompleteLogical();
                    repo.removeTemporary();
                    if (!leftovers.isEmpty()) {
                        progress.step("removed what failed logical backups left: " + String.join(", ", leftovers));
                    }
                    LogicalManifest full = null;
                    BackupType type = req.type();
                    if (type == BackupType.DIFF) {
                        full = newestFull(repo, database);
                        if (full == null) {
                            progress.warn("no logical full of database " + database + " to build on: taking a logical full");
                            type = BackupType.FULL;
                        }
                    }
                    String id = newId(repo, type);
                    boolean written = false;
                    try {
                        Run run = new Run(repo, c, req, pgDump, id, type, full, database, systemId, versionNum, serverVersion, utf8, startTime,
                                clientEncoding);
                        LogicalBackupResult r;
                        try {
                            r = run.execute();
                        } finally {
                            run.closeWorkers();
                        }
                        written = true;
                        return new LogicalBackupResult(r.id(), r.type(), r.reference(), r.database(), r.snapshotLsn(), r.snapshotTime(),
                                r.tables(), r.deltaTables(), r.wholeTables(), r.changedRows(), r.deletedRows(), r.wholeRows(), r.largeObjects(),
                                r.changedLargeObjects(), r.deletedLargeObjects(), r.dumpBytes(),
                                r.repositoryBytes(), (System.nanoTime() - t0) / 1e9);
                    } finally {
                        if (!written) {
                            try {
                                repo.storage().deletePrefix(Repository.LOGICAL_PREFIX + id + "/");
                            } catch (IOException e) {
                                progress.warn("could not remove the unfinished backup " + id + ": " + e.getMessage() + " (the next backup removes it)");
                            }
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw Db.sqlFailed("the logical backup", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "the logical backup failed: " + e.getMessage(), "check the repository and free space", e);
        }
    }

    /** The JSON mapper, the compressor and the key index code load on a second thread while this one connects. */
    private static void warmUpInBackground() {
        Thread t = new Thread(() -> {
            try {
                LogicalManifest m = new LogicalManifest(LogicalManifest.FORMAT_VERSION, "warmup", LogicalManifest.FULL, null, "1", 170000, "17",
                        "17", "postgres", "0/0", "t", "t", "t", "zstd", LogicalManifest.CUSTOM, List.of(),
                        List.of(new LogicalTable("s", "t", List.of(new LogicalManifest.Column("c", "bigint")), List.of("c"), LogicalTable.INDEXED,
                                null, 1, null, null, 0, null, 0, List.of(), List.of(), LogicalTable.BINARY, 1L, null)),
                        List.of(new LogicalManifest.SequenceValue("s", "q", 1, true)), 0, "dev", null, null, null, LogicalManifest.MONEY_LOCALE, null);
                org.pgstrata.manifest.Json.unseal("warmup", org.pgstrata.manifest.Json.seal(m), LogicalManifest.class);
                com.github.luben.zstd.Zstd.compress(new byte[8192], ObjectStore.ZSTD_LEVEL);
                Checksum.hash64(new byte[64], 0, 64);
                KeyIndex.readIntegerKeys(new byte[] {'P', 'G', 'S', 'K', 'I', '1', 0}, new long[0], new long[0]);
            } catch (RuntimeException | IOException | LinkageError e) {
                // only a warm-up: the real use reports any problem
            }
        }, "pgstrata-warmup");
        t.setDaemon(true);
        t.start();
    }

    /** The newest logical full of {@code database}; a damaged manifest newer than it makes this refuse. */
    private static LogicalManifest newestFull(Repository repo, String database) {
        LogicalManifest found = null;
        for (LogicalManifest m : repo.logicalBackups()) {
            if (!m.differential() && m.database().equals(database)) {
                found = m;
            }
        }
        Map<String, String> damaged = repo.damagedLogical();
        if (!damaged.isEmpty()) {
            var first = damaged.entrySet().iterator().next();
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot choose the logical full to build on: " + first.getValue(),
                    "delete the damaged backup (pgstrata delete --backup " + first.getKey() + "), then take the differential again");
        }
        return found;
    }

    private String newId(Repository repo, BackupType type) {
        String base = ID_FORMAT.format(Instant.now(clock)) + (type == BackupType.FULL ? "LF" : "LD");
        String id = base;
        java.util.Set<String> taken = repo.logicalIds();
        taken.addAll(repo.backupIds());
        for (int n = 2; taken.contains(id); n++) {
            id = base + "_" + n;
        }
        return id;
    }

    /** One backup's work, from the snapshot to the manifest. */
    private final class Run {
        private final Repository repo;
        private final ObjectStore objects;
        private final Connection c;
        private final LogicalBackupRequest req;
        private final PgClient pgDump;
        private final String id;
        private final BackupType type;
        private final LogicalManifest full;
        private final String database;
        private final String systemId;
        private final int versionNum;
        private final String serverVersion;
        private final boolean textKeysSortable;
        private final Instant startTime;
        private final Compression compression;
        /** The client encoding of the rows' COPY: {@link Db#SQL_ASCII} for a SQL_ASCII database, else null (UTF8). */
        private final String clientEncoding;
        private String snapshot;
        /** Of a host list, the host this backup's session reached: pg_dump and the workers join its snapshot there. */
        private final ConnectionSettings reached;

        Run(Repository repo, Connection c, LogicalBackupRequest req, PgClient pgDump, String id, BackupType type, LogicalManifest full,
            String database, String systemId, int versionNum, String serverVersion, boolean textKeysSortable, Instant startTime,
            String clientEncoding) {
            this.clientEncoding = clientEncoding;
            this.reached = Db.reached(req.connection(), c);
            this.repo = repo;
            this.objects = repo.objects();
            this.c = c;
            this.req = req;
            this.pgDump = pgDump;
            this.id = id;
            this.type = type;
            this.full = full;
            this.database = database;
            this.systemId = systemId;
            this.versionNum = versionNum;
            this.serverVersion = serverVersion;
            this.textKeysSortable = textKeysSortable;
            this.startTime = startTime;
            this.compression = req.compression();
        }

        /** The object key of a stored file: its name under the backup's directory, with the compression's suffix. */
        private String key(String name) {
            return Repository.LOGICAL_PREFIX + id + "/" + name + compression.suffix();
        }

        LogicalBackupResult execute() throws SQLException, IOException {
            boolean diff = type == BackupType.DIFF;
            try (Statement st = c.createStatement()) {
                st.execute(SESSION_SETTINGS);
            }
            withoutTempFileLimit(c);
            c.setAutoCommit(false);
            String lsn;
            String snapshotTime;
            try (Statement st = c.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                try (ResultSet rs = st.executeQuery("SELECT pg_export_snapshot(), (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                        + "ELSE pg_current_wal_lsn() END)::text, clock_timestamp()")) {
                    rs.next();
                    snapshot = rs.getString(1);
                    lsn = rs.getString(2);
                    snapshotTime = rs.getTimestamp(3).toInstant().toString();
                }
            }
            List<Table> tables = Catalog.tables(c);
            List<String> hidden = Catalog.hiddenByRowSecurity(c, tables);
            if (!hidden.isEmpty()) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "row-level security hides rows of " + named(hidden, "tables") + " from role "
                        + Db.queryString(c, "SELECT current_user") + ": a logical backup would miss them (a differential would record them as deleted);"
                        + " nothing was added to the repository",
                        "back up as a superuser or a role with BYPASSRLS, or as the tables' owner where they are not under"
                                + " FORCE ROW LEVEL SECURITY (which applies the policies to the owner too)");
            }
            List<String> subscriptions = Catalog.subscriptionsLeftOut(c);
            if (!subscriptions.isEmpty()) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "role " + Db.queryString(c, "SELECT current_user") + " is not a superuser:"
                        + " pg_dump would leave out the subscriptions of database " + database + " (" + named(subscriptions, "")
                        + "), and a restore would lack them; nothing was added to the repository",
                        "back up as a superuser, or drop the subscriptions that need no backup");
            }
            List<String> mappings = Catalog.userMappingsWithHiddenOptions(c);
            if (!mappings.isEmpty()) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "role " + Db.queryString(c, "SELECT current_user") + " cannot see the options"
                        + " of user mapping " + named(mappings, "") + " in database " + database
                        + ": pg_dump would write them without their options, and a restore would lack them; nothing was added to the repository",
                        "back up as a superuser, as the foreign servers' owner, or as the mapped role");
            }
            Catalog.lock(c, tables);
            var sequences = Catalog.sequences(c);
            LogicalManifest.DatabaseProperties properties = Catalog.databaseProperties(c);
            progress.step((diff ? "logical differential of " : "logical full of ") + database + " (" + tables.size() + " tables) at " + lsn
                    + (diff ? ", against " + full.id() : "") + " with " + pgDump.program() + " " + pgDump.version());

            boolean directory = !diff && req.jobs() > 1;
            // A parallel backup killed while pg_dump wrote its dump (or before it stored it) left it there, uncompressed
            Leftovers.cleanDumpDirectories(Path.of(System.getProperty("java.io.tmpdir"))).forEach(progress::warn);
            Path dumpDir = directory ? Leftovers.createDumpDirectory(id) : null;
            try {
                List<String> cmd = new ArrayList<>(List.of(pgDump.program().toString(), directory ? "--format=directory" : "--format=custom",
                        "--compress=0", "--snapshot=" + snapshot, "--no-password"));
                if (diff) {
                    // not --schema-only, which also leaves out the large objects' definitions (owner, privileges,
                    // comment) and the refreshes of materialized views: everything but the data section
                    cmd.add("--section=pre-data");
                    cmd.add("--section=post-data");
                }
                if (directory) {
                    cmd.add("--jobs=" + req.jobs());
                    cmd.add("--file=" + dumpDir.resolve("dump"));
                }
                // pg_dump's messages through a pipe, not a file in TMPDIR: a TMPDIR with no room for the dump has none for its reason either
                ProcessBuilder pb = new ProcessBuilder(cmd);
                PgClient.connectTo(pb.environment(), reached.withDbname(database));
                PgClient.withSettings(pb.environment(), PgClient.MONEY_IN_C);
                if (directory) {
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
                }
                Process p = org.pgstrata.api.ChildProcesses.start(pb);
                java.util.concurrent.FutureTask<String> said = new java.util.concurrent.FutureTask<>(() -> PgClient.lastLines(p.getErrorStream(), 3, progress::warn));
                Thread drain = new Thread(said, "pgstrata-pg_dump-stderr");
                drain.setDaemon(true);
                drain.start();
                CompletableFuture<StoredFile> streamed = directory ? CompletableFuture.completedFuture(null)
                        : CompletableFuture.supplyAsync(() -> store(p.getInputStream(), diff ? "schema" : "dump"));
                List<LogicalTable> entries = new ArrayList<>();
                long changed = 0;
                long deleted = 0;
                long wholeRows = 0;
                List<String> whole = new ArrayList<>();
                LogicalManifest.LargeObjects largeObjects;
                try {
                    if (clientEncoding != null) {
                        // from here to the end of the tables, this session reads rows and numbers (names were read before)
                        Db.execute(c, "SET client_encoding = '" + clientEncoding + "'");
                    }
                    for (Table t : tables) {
                        LogicalTable e = diff ? diffTable(t) : indexTable(t);
                        entries.add(e);
                        if (LogicalTable.WHOLE.equals(e.mode())) {
                            // a whole table's rows are not changes: counting them as such made one UPDATE read as many
                            wholeRows += e.rows();
                            whole.add(t.qualified() + ": " + e.reason());
                            progress.warn("table " + t.qualified() + " is stored whole (" + e.reason() + ")");
                        } else {
                            changed += e.changedRows();
                            deleted += e.deletedRows();
                        }
                    }
                    if (clientEncoding != null) {
                        Db.execute(c, "SET client_encoding = 'UTF8'");
                    }
                    largeObjects = diff ? diffLargeObjects() : indexLargeObjects();
                } catch (RuntimeException | SQLException | IOException e) {
                    p.destroyForcibly();
                    // let the copy of pg_dump's output end before the unfinished backup is removed
                    streamed.handle((ok, failed) -> null).join();
                    throw e;
                }
                StoredFile dumpFile;
                int rc;
                try {
                    dumpFile = streamed.get();
                    rc = p.waitFor();
                } catch (ExecutionException e) {
                    p.destroyForcibly();
                    Throwable cause = e.getCause();
                    if (cause instanceof PgstrataException pe) {
                        throw pe;
                    }
                    throw new IOException("storing pg_dump's output failed: " + cause.getMessage(), cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    p.destroyForcibly();
                    throw new PgstrataException(ErrorCode.INTERNAL, "interrupted while pg_dump ran", null);
                }
                if (rc != 0) {
                    String why;
                    try {
                        why = said.get(30, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        why = "(its messages could not be read)";
                    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                        why = "(its messages could not be read)";
                    }
                    if (directory && org.pgstrata.storage.fs.FileStorage.noRoom(why)) {
                        throw new PgstrataException(ErrorCode.IO, "pg_dump could not write its directory-format dump into " + dumpDir + ": " + why
                                + "; nothing was added to the repository", "free space in " + dumpDir.getParent() + " or set TMPDIR to a directory "
                                + "with room for the dump, or take it with --jobs 1 (which streams it into the repository)");
                    }
                    throw new PgstrataException(ErrorCode.DUMP_FAILED, "pg_dump failed (exit " + rc + "): " + why,
                            "see the message above; nothing was added to the repository");
                }
                List<StoredFile> dump = new ArrayList<>();
                if (directory) {
                    try (Stream<Path> files = Files.list(dumpDir.resolve("dump"))) {
                        for (Path f : files.sorted().toList()) {
                            try (InputStream in = Files.newInputStream(f)) {
                                dump.add(store(in, "dump/" + f.getFileName()));
                            }
                        }
                    }
                } else {
                    dump.add(dumpFile);
                }
                c.commit();
                LogicalManifest m = new LogicalManifest(LogicalManifest.FORMAT_VERSION, id, diff ? LogicalManifest.DIFF : LogicalManifest.FULL,
                        diff ? full.id() : null, systemId, versionNum, serverVersion, pgDump.version(), database, lsn, snapshotTime,
                        startTime.toString(), Instant.now(clock).toString(), compression.label(),
                        directory ? LogicalManifest.DIRECTORY : LogicalManifest.CUSTOM, dump, entries, sequences, 0, VERSION,
                        diff ? LogicalManifest.PRE_AND_POST_DATA : null, largeObjects, properties, LogicalManifest.MONEY_LOCALE,
                        clientEncoding);
                long repoBytes = m.objects().stream().mapToLong(f -> f.object().storedBytes()).sum();
                m = new LogicalManifest(m.formatVersion(), m.id(), m.type(), m.reference(), m.systemIdentifier(), m.pgVersionNum(),
                        m.serverVersion(), m.pgDumpVersion(), m.database(), m.snapshotLsn(), m.snapshotTime(), m.startTime(), m.stopTime(),
                        m.compression(), m.dumpFormat(), m.dump(), m.tables(), m.sequences(), repoBytes, m.pgstrataVersion(),
                        m.dumpSections(), m.largeObjects(), m.databaseProperties(), m.lcMonetary(),
                        m.rowsEncoding());
                repo.writeLogicalManifest(m);
                long dumpBytes = dump.stream().mapToLong(StoredFile::size).sum();
                return new LogicalBackupResult(id, m.type(), m.reference(), database, lsn, snapshotTime, entries.size(),
                        (int) entries.stream().filter(e -> LogicalTable.DELTA.equals(e.mode())).count(), whole, changed, deleted, wholeRows,
                        largeObjects.count(), largeObjects.changed(), largeObjects.deleted(), dumpBytes, repoBytes, 0);
            } finally {
                if (dumpDir != null) {
                    org.pgstrata.api.FileTrees.delete(dumpDir);
                }
            }
        }

        /** The first five of {@code names}, and how many more ({@code what}: "tables", or "" for none). */
        private static String named(List<String> names, String what) {
            return String.join(", ", names.subList(0, Math.min(5, names.size())))
                    + (names.size() > 5 ? " and " + (names.size() - 5) + " more" + (what.isEmpty() ? "" : " " + what) : "");
        }

        private StoredFile store(InputStream in, String name) {
            try (ObjectStore.PendingObject o = objects.create(id, key(name), compression)) {
                in.transferTo(o.content());
                ObjectStore.Stored s = o.finish();
                return new StoredFile(name, s.contentBytes(), s.contentChecksum(), s.ref());
            } catch (IOException e) {
                throw new PgstrataException(ErrorCode.IO, "cannot store " + name + " in " + repo.describe() + ": " + e.getMessage(),
                        "check that the repository is writable and has room", e);
            }
        }

        /** Full: the index of the large objects (their content is in pg_dump's archive). */
        private LogicalManifest.LargeObjects indexLargeObjects() throws SQLException, IOException {
            Sink index = new Sink("largeobjects.index");
            long n = LargeObjectData.scan(c, s -> index.write(LargeObjectData.indexLine(s)));
            if (n > 0) {
                progress.step("indexed " + n + " large objects");
            }
            return new LogicalManifest.LargeObjects(LogicalManifest.LargeObjects.INDEXED, null, n, index.finish(), null, 0, null, 0);
        }

        /**
         * Differential: the content of the large objects that the full's index lacks or holds with
         * another hash, and the oids of those gone. Their definitions (owner, privileges, comment)
         * are in this backup's archive.
         */
        private LogicalManifest.LargeObjects diffLargeObjects() throws SQLException, IOException {
            LogicalManifest.LargeObjects before = full.largeObjects();
            String why = before == null ? "logical full " + full.id() + " has no index of them (an older pgstrata took it)" : null;
            LargeObjectData.Index index = LargeObjectData.Index.EMPTY;
            if (before != null && before.index() != null) {
                StoredFile f = before.index();
                try (InputStream in = objects.openContent(f.object(), f.size(), f.checksum())) {
                    byte[] content = readIndex(f.object().key(), in::readAllBytes);
                    index = readIndex(f.object().key(), () -> LargeObjectData.Index.parse(content));
                } catch (CorruptObjectException e) {
                    throw new PgstrataException(ErrorCode.CORRUPT, "the index of the large objects in logical full " + full.id() + " is damaged: "
                            + e.getMessage() + "; nothing was added to the repository", "take a new logical full (pgstrata backup --logical --type full)");
                }
            }
            LargeObjectData.Index previous = index;
            boolean[] seen = new boolean[previous.oids().length];
            Sink data = new Sink("largeobjects.data");
            LargeObjectData.Writer writer = new LargeObjectData.Writer(data::write);
            long[] changed = {0};
            long n = LargeObjectData.scan(c, s -> {
                int at = previous.find(s.oid());
                if (at >= 0) {
                    seen[at] = true;
                    if (why == null && previous.same(at, s)) {
                        return;
                    }
                }
                changed[0]++;
                writer.write(c, s);
            });
            Sink deletes = new Sink("largeobjects.deletes");
            long deleted = 0;
            for (int i = 0; i < seen.length; i++) {
                if (!seen[i]) {
                    deletes.write((previous.oids()[i] + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    deleted++;
                }
            }
            if (why != null && n > 0) {
                progress.warn("the " + n + " large objects are stored whole: " + why);
            } else if (changed[0] + deleted > 0) {
                progress.step("large objects: " + changed[0] + " new or changed, " + deleted + " gone since " + full.id());
            }
            return new LogicalManifest.LargeObjects(why == null ? LogicalManifest.LargeObjects.DELTA : LogicalManifest.LargeObjects.WHOLE, why, n,
                    null, data.finish(), changed[0], deletes.finish(), deleted);
        }

        /** Why a table cannot carry a key index, or null. */
        private String unindexable(Table t) {
            if (t.extensionCondition() != null) {
                // its rows are pg_dump's only when they meet the extension's condition; CREATE EXTENSION makes the others
                return "an extension's configuration table";
            }
            if (t.key().isEmpty()) {
                return "no primary key";
            }
            for (int p : t.keyPositions()) {
                if (p < 0) {
                    return "a primary key column is generated";
                }
            }
            if (!textKeysSortable && t.keyKinds().contains(KeyKind.TEXT)) {
                return "a non-integer primary key in a database whose encoding is not UTF8";
            }
            return null;
        }

        private String scanSql(Table t, boolean ordered) {
            return "COPY (SELECT " + t.columnList() + " FROM ONLY " + t.sqlName() + (ordered ? " ORDER BY " + t.keyOrder() : "") + ") TO STDOUT";
        }

        /** Full: the table's key index (tables without a usable primary key get none). */
        private LogicalTable indexTable(Table t) throws SQLException, IOException {
            String why = unindexable(t);
            if (why != null) {
                return new LogicalTable(t.schema(), t.name(), t.columns(), t.key(), LogicalTable.UNINDEXED, why, count(t), null, null, 0, null, 0,
                        t.indexes(), t.ownedSequences(), null, t.oid(), t.rowRules());
            }
            progress.step("indexing " + t.qualified());
            int[] positions = t.keyPositions();
            int fields = t.columns().size();
            boolean binary = binaryRows(t);
            CopyOut out = copyManager().copyOut(scanSql(t, true) + (binary ? " (FORMAT binary)" : ""));
            try (ObjectStore.PendingObject o = objects.create(id, key("table-" + t.oid() + ".keys"), compression)) {
                KeyIndex.Writer w = new KeyIndex.Writer(o.content(), positions.length);
                byte[] row;
                while ((row = out.readFromCopy()) != null) {
                    if (binary) {
                        int start = BinaryCopy.rowStart(row);
                        if (start >= 0) {
                            int values = BinaryCopy.valuesStart(row, start, 0);
                            w.add(new KeyIndex.Key(new Object[] {BinaryCopy.integerField(row, start, positions[0])}),
                                    Checksum.hash64(row, values, row.length - values));
                        }
                    } else {
                        int len = CopyText.lineLength(row);
                        w.add(KeyIndex.keyOf(row, len, fields, positions, t.keyKinds()), Checksum.hash64(row, 0, len));
                    }
                }
                w.finish();
                ObjectStore.Stored s = o.finish();
                return new LogicalTable(t.schema(), t.name(), t.columns(), t.key(), LogicalTable.INDEXED, null, w.rows(),
                        new StoredFile("table-" + t.oid() + ".keys", s.contentBytes(), s.contentChecksum(), s.ref()), null, 0, null, 0,
                        t.indexes(), t.ownedSequences(), binary ? LogicalTable.BINARY : LogicalTable.TEXT, t.oid(), t.rowRules());
            }
        }

        /**
         * Whether row hashes are taken over COPY's binary rows: one integer key (the fast
         * differential) and a binary form for every column. The server produces binary rows in
         * about half the time of text ones (no number or date formatting).
         */
        private boolean binaryRows(Table t) {
            return t.binary() && t.key().size() == 1 && t.keyKinds().get(0) == KeyKind.LONG;
        }

        private long count(Table t) throws SQLException {
            return Long.parseLong(Db.queryString(c, "SELECT count(*) FROM ONLY " + t.sqlName()));
        }

        private CopyManager copyManager() throws SQLException {
            return new CopyManager(c.unwrap(BaseConnection.class));
        }

        /** Differential: the rows that differ from the full's key index, or the whole table. */
        private LogicalTable diffTable(Table t) throws SQLException, IOException {
            Optional<LogicalTable> before = full.table(t.schema(), t.name());
            String why = unindexable(t);
            if (why == null) {
                if (before.isEmpty()) {
                    why = "new since the full";
                } else if (!LogicalTable.INDEXED.equals(before.get().mode())) {
                    why = "the full has no key index for it (" + before.get().reason() + ")";
                } else if (!before.get().columns().equals(t.columns())) {
                    why = "its columns changed since the full";
                } else if (!before.get().key().equals(t.key())) {
                    why = "its primary key changed since the full";
                } else if (before.get().rowRules() != null && !before.get().rowRules().equals(t.rowRules())) {
                    // the full's rows are loaded into this backup's schema before the changes apply: rules that
                    // changed (NOT NULL, CHECK, enum labels, domain constraints) could refuse the rows changed since
                    why = "its NOT NULL, CHECK or partition constraints, its columns' collations or its column types' definitions changed since the full";
                }
            }
            String base = "table-" + t.oid();
            if (why != null) {
                progress.step("copying " + t.qualified() + " whole (" + why + ")");
                Sink rows = new Sink(base + ".rows");
                long n = 0;
                CopyOut out = copyManager().copyOut(t.extensionCondition() == null ? scanSql(t, false)
                        : "COPY (SELECT " + t.columnList() + " FROM ONLY " + t.sqlName() + " " + t.extensionCondition() + ") TO STDOUT");
                byte[] row;
                while ((row = out.readFromCopy()) != null) {
                    rows.write(row);
                    n++;
                }
                return new LogicalTable(t.schema(), t.name(), t.columns(), t.key(), LogicalTable.WHOLE, why, n, null, rows.finish(), n, null, 0,
                        t.indexes(), t.ownedSequences(), null, t.oid(), t.rowRules());
            }
            progress.step("comparing " + t.qualified() + " with " + full.id());
            StoredFile index = before.get().keyIndex();
            // PGSTRATA_TEST_ORDERED_MERGE: tests take the path that big tables take
            if (t.key().size() == 1 && t.keyKinds().get(0) == KeyKind.LONG && !org.pgstrata.api.TestHooks.orderedMerge(env)
                    && before.get().rows() * 24 < Runtime.getRuntime().maxMemory() / 3) {
                return diffByLookup(t, before.get(), base);
            }
            int[] positions = t.keyPositions();
            int fields = t.columns().size();
            Sink rows = new Sink(base + ".rows");
            Sink deletes = new Sink(base + ".deletes");
            List<Long> changedKeys = new ArrayList<>();
            long total = 0;
            long changed = 0;
            long deleted = 0;
            try (InputStream in = objects.openContent(index.object(), index.size(), index.checksum())) {
                String indexKey = index.object().key();
                KeyIndex.Reader r = readIndex(indexKey, () -> new KeyIndex.Reader(in, t.keyKinds()));
                boolean more = readIndex(indexKey, r::next);
                // an index of binary rows (one integer key) compares binary rows, and reads the changed ones as text afterwards
                boolean binary = LogicalTable.BINARY.equals(before.get().rowFormat());
                CopyOut out = copyManager().copyOut(scanSql(t, true) + (binary ? " (FORMAT binary)" : ""));
                byte[] row;
                while ((row = out.readFromCopy()) != null) {
                    int start = 0;
                    int len;
                    KeyIndex.Key k;
                    if (binary) {
                        start = BinaryCopy.rowStart(row);
                        if (start < 0) {
                            continue;
                        }
                        k = new KeyIndex.Key(new Object[] {BinaryCopy.integerField(row, start, positions[0])});
                        start = BinaryCopy.valuesStart(row, start, 0);
                        len = row.length - start;
                    } else {
                        len = CopyText.lineLength(row);
                        k = KeyIndex.keyOf(row, len, fields, positions, t.keyKinds());
                    }
                    total++;
                    int cmp;
                    while (more && (cmp = KeyIndex.compare(r.key(), k)) < 0) {
                        deletes.write(r.key().copyLine());
                        deleted++;
                        more = readIndex(indexKey, r::next);
                    }
                    boolean same = false;
                    if (more && KeyIndex.compare(r.key(), k) == 0) {
                        same = r.hash() == Checksum.hash64(row, start, len);
                        more = readIndex(indexKey, r::next);
                    }
                    if (!same) {
                        changed++;
                        if (binary) {
                            changedKeys.add((Long) k.values()[0]);
                        } else {
                            rows.write(row);
                        }
                    }
                }
                while (more) {
                    deletes.write(r.key().copyLine());
                    deleted++;
                    more = readIndex(indexKey, r::next);
                }
                readIndex(indexKey, () -> in.transferTo(OutputStream.nullOutputStream())); // to the end, where the content is checked
                copyRowsByKey(t, changedKeys, rows);
            } catch (CorruptObjectException e) {
                throw new PgstrataException(ErrorCode.CORRUPT, "the key index of " + t.qualified() + " in logical full " + full.id()
                        + " is damaged: " + e.getMessage() + "; nothing was added to the repository",
                        "take a new logical full (pgstrata backup --logical --type full)");
            }
            return new LogicalTable(t.schema(), t.name(), t.columns(), t.key(), LogicalTable.DELTA, null, total, null, rows.finish(), changed,
                    deletes.finish(), deleted, t.indexes(), t.ownedSequences(), null, t.oid(), t.rowRules());
        }

        /**
         * The differential of a table with one integer key that fits in memory: the full's key
         * index loaded into two sorted arrays, the table read unordered (a sequential scan, no
         * sort, no index) by up to --jobs connections that share the snapshot, each taking a range
         * of heap blocks; every row's key is looked up by binary search. Keys never seen are the
         * deletes.
         */
        private LogicalTable diffByLookup(Table t, LogicalTable before, String base) throws SQLException, IOException {
            StoredFile index = before.keyIndex();
            int n = Math.toIntExact(before.rows());
            long[] keys = new long[n];
            long[] hashes = new long[n];
            String indexKey = index.object().key();
            try (InputStream in = objects.openContent(index.object(), index.size(), index.checksum())) {
                byte[] content = readIndex(indexKey, in::readAllBytes);
                int read = readIndex(indexKey, () -> KeyIndex.readIntegerKeys(content, keys, hashes));
                if (read != n) {
                    throw new CorruptObjectException(indexKey, "holds " + read + " rows, its manifest says " + n);
                }
            } catch (CorruptObjectException e) {
                throw new PgstrataException(ErrorCode.CORRUPT, "the key index of " + t.qualified() + " in logical full " + full.id()
                        + " is damaged: " + e.getMessage() + "; nothing was added to the repository",
                        "take a new logical full (pgstrata backup --logical --type full)");
            }
            boolean binary = LogicalTable.BINARY.equals(before.rowFormat()) && binaryRows(t);
            if (LogicalTable.BINARY.equals(before.rowFormat()) && !binary) {
                throw new PgstrataException(ErrorCode.INTERNAL, "table " + t.qualified() + " can no longer be read in binary form", null);
            }
            long blocks = Long.parseLong(Db.queryString(c, "SELECT pg_relation_size(" + t.oid() + ") / current_setting('block_size')::int"));
            int workers = (int) Math.max(1, Math.min(Math.max(1, req.jobs()), blocks / 128)); // 1 MiB of heap per worker at least
            if (workers > 1) {
                progress.step("reading " + t.qualified() + " over " + workers + " connections");
            }
            java.util.concurrent.atomic.AtomicLongArray seen = new java.util.concurrent.atomic.AtomicLongArray((n + 63) / 64);
            Sink rows = new Sink(base + ".rows");
            int fields = t.columns().size();
            int keyField = t.keyPositions()[0];
            java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicLong changed = new java.util.concurrent.atomic.AtomicLong();
            List<String> changedTids = new ArrayList<>();
            List<java.util.concurrent.Callable<Void>> tasks = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                long from = blocks * w / workers;
                long to = blocks * (w + 1) / workers;
                String range = workers == 1 ? "" : " WHERE ctid >= '(" + from + ",0)'" + (w == workers - 1 ? "" : " AND ctid < '(" + to + ",0)'");
                // binary: the ctid comes first, so that the changed rows can be read back by it (a TID scan, no index)
                String sql = "COPY (SELECT " + (binary ? "ctid, " : "") + t.columnList() + " FROM ONLY " + t.sqlName() + range + ") TO STDOUT"
                        + (binary ? " (FORMAT binary)" : "");
                Connection wc = w == 0 ? c : worker(w);
                tasks.add(() -> {
                    try {
                        CopyOut out = new CopyManager(wc.unwrap(BaseConnection.class)).copyOut(sql);
                        byte[] row;
                        long mine = 0;
                        long mineChanged = 0;
                        while ((row = out.readFromCopy()) != null) {
                            int start;
                            int len;
                            long key;
                            String tid = null;
                            if (binary) {
                                int rowStart = BinaryCopy.rowStart(row);
                                if (rowStart < 0) {
                                    continue; // the trailer
                                }
                                key = BinaryCopy.integerField(row, rowStart, keyField + 1);
                                start = BinaryCopy.valuesStart(row, rowStart, 1);
                                len = row.length - start;
                                tid = BinaryCopy.tidField(row, rowStart);
                            } else {
                                start = 0;
                                len = CopyText.lineLength(row);
                                int[] bounds = CopyText.fieldBounds(row, len, keyField + 1);
                                key = CopyText.parseLong(row, bounds[2 * keyField], bounds[2 * keyField + 1]);
                            }
                            mine++;
                            int at = java.util.Arrays.binarySearch(keys, key);
                            if (at >= 0) {
                                long bit = 1L << (at & 63);
                                long word;
                                do {
                                    word = seen.get(at >>> 6);
                                } while (!seen.compareAndSet(at >>> 6, word, word | bit));
                                if (hashes[at] == Checksum.hash64(row, start, len)) {
                                    continue;
                                }
                            }
                            mineChanged++;
                            synchronized (rows) {
                                if (binary) {
                                    changedTids.add(tid);
                                } else {
                                    rows.write(row);
                                }
                            }
                        }
                        total.addAndGet(mine);
                        changed.addAndGet(mineChanged);
                    } catch (SQLException e) {
                        throw Db.sqlFailed("reading " + t.qualified(), e);
                    }
                    return null;
                });
            }
            org.pgstrata.api.Parallel.run(workers, "pgstrata-logical-scan", tasks);
            copyRowsByTid(t, changedTids, rows);
            Sink deletes = new Sink(base + ".deletes");
            long deleted = 0;
            for (int i = 0; i < n; i++) {
                if ((seen.get(i >>> 6) & (1L << (i & 63))) == 0) {
                    deletes.write((keys[i] + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    deleted++;
                }
            }
            return new LogicalTable(t.schema(), t.name(), t.columns(), t.key(), LogicalTable.DELTA, null, total.get(), null, rows.finish(),
                    changed.get(), deletes.finish(), deleted, t.indexes(), t.ownedSequences(), null, t.oid(), t.rowRules());
        }

        private final List<Connection> workers = new ArrayList<>();
        /** Connection number {@code w} (1..): reads in this backup's snapshot, with the same settings. */
        private Connection worker(int w) throws SQLException {
            while (workers.size() < w) {
                Connection wc = Db.connectForCopy(reached.withDbname(database), "pgstrata logical backup worker");
                try (Statement st = wc.createStatement()) {
                    st.execute(SESSION_SETTINGS);
                    withoutTempFileLimit(wc);
                    if (clientEncoding != null) {
                        st.execute("SET client_encoding = '" + clientEncoding + "'"); // a worker only copies rows
                    }
                    wc.setAutoCommit(false);
                    st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                    st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
                }
                workers.add(wc);
            }
            return workers.get(w - 1);
        }

        void closeWorkers() {
            for (Connection wc : workers) {
                try {
                    wc.close();
                } catch (SQLException e) {
                    // a read-only transaction: nothing to lose
                }
            }
            workers.clear();
        }

        /** The rows with these (integer) keys, in COPY text, from this backup's snapshot. */
        private void copyRowsByKey(Table t, List<Long> changedKeys, Sink rows) throws SQLException, IOException {
            copyRowsWhere(t, Catalog.ident(t.key().get(0)), "bigint", changedKeys.stream().sorted().map(String::valueOf).toList(), rows);
        }

        /** The rows at these ctids, in COPY text, from this backup's snapshot (where they cannot have moved). */
        private void copyRowsByTid(Table t, List<String> tids, Sink rows) throws SQLException, IOException {
            copyRowsWhere(t, "ctid", "tid", tids.stream().map(x -> "\"" + x + "\"").toList(), rows);
        }

        /**
         * The rows whose {@code column} is one of {@code elements} (array literal elements of
         * {@code type}), in COPY text, in chunks; every element must find exactly one row, as it
         * must in one snapshot.
         */
        private void copyRowsWhere(Table t, String column, String type, List<String> elements, Sink rows) throws SQLException, IOException {
            long found = 0;
            for (int from = 0; from < elements.size(); from += 50_000) {
                String list = "'{" + String.join(",", elements.subList(from, Math.min(elements.size(), from + 50_000))) + "}'::" + type + "[]";
                CopyOut out = copyManager().copyOut("COPY (SELECT " + t.columnList() + " FROM ONLY " + t.sqlName() + " WHERE " + column
                        + " = ANY(" + list + ")) TO STDOUT");
                byte[] row;
                while ((row = out.readFromCopy()) != null) {
                    rows.write(row);
                    found++;
                }
            }
            if (found != elements.size()) {
                throw new PgstrataException(ErrorCode.INTERNAL, "table " + t.qualified() + ": " + elements.size() + " changed rows, but " + found
                        + " read back by " + column + " in the same snapshot", "report this as a bug; nothing was added to the repository");
            }
        }

        /** Reading the full's key index: any failure there means the object is damaged. */
        private <T> T readIndex(String key, IndexRead<T> read) throws CorruptObjectException {
            try {
                return read.get();
            } catch (CorruptObjectException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new CorruptObjectException(key, "cannot be read (" + e.getMessage() + ")");
            }
        }

        /** An object created on the first write, so that an empty delta stores nothing. */
        private final class Sink {
            private final String name;
            private ObjectStore.PendingObject object;

            Sink(String name) {
                this.name = name;
            }

            void write(byte[] b) throws IOException {
                write(b, 0, b.length);
            }

            void write(byte[] b, int off, int len) throws IOException {
                if (object == null) {
                    object = objects.create(id, key(name), compression);
                }
                object.content().write(b, off, len);
            }

            StoredFile finish() throws IOException {
                if (object == null) {
                    return null;
                }
                try (ObjectStore.PendingObject o = object) {
                    ObjectStore.Stored s = o.finish();
                    return new StoredFile(name, s.contentBytes(), s.contentChecksum(), s.ref());
                }
            }
        }
    }

    private interface IndexRead<T> {
        T get() throws IOException;
    }
}
