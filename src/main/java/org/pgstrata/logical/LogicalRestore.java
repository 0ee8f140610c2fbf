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
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.LogicalManifest.LogicalTable;
import org.pgstrata.manifest.LogicalManifest.SequenceValue;
import org.pgstrata.manifest.LogicalManifest.StoredFile;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.CorruptObjectException;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * Restores a logical backup into a running server. Every object is read back and checked into a
 * work directory before the server is touched. A whole database is restored under a temporary
 * name and renamed into place only once everything succeeded, so a failure (or --clean) never
 * loses the database that was there.
 *
 * <p>A full is one pg_restore. A full plus differential: the differential's schema (pre-data,
 * with the large objects' definitions), the full's data for the tables the differential holds as
 * deltas and the full's large objects, the tables it holds whole, then in one transaction the
 * deletes and upserts of every table, the large objects gone or changed, the sequences; last the
 * differential's indexes, constraints, triggers and materialized views' refreshes (post-data).
 * A whole database then gets the settings and comment of the backup's database, which pg_restore
 * restores only when it creates the database itself.
 */
public final class LogicalRestore {
    /**
     * The decompressed dumps that logical restores on this host left when they were killed (their
     * process is gone), in the system's temporary directory. The next logical restore removes them,
     * with the temporary databases such runs left; verify names them.
     */
    public static List<Path> interruptedRestoreDumps() {
        return Leftovers.deadWorkDirectories(Path.of(System.getProperty("java.io.tmpdir")));
    }

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
            // the database replaced cannot be dropped through a connection to it: manage the databases from another
            ConnectionSettings through = req.toDb().equals(req.connection().dbname())
                    ? req.connection().withDbname("postgres".equals(req.toDb()) ? "template1" : "postgres") : req.connection();
            try (Connection admin = Db.connect(through, "pgstrata logical restore")) {
                // of a host list, the host this session reached: every later session, pg_restore and psql work there
                ConnectionSettings server = Db.reached(req.connection(), admin);
                // the server cuts a longer name: the restore would land under, or fail over, another database's name
                int maxName = Integer.parseInt(Db.queryString(admin, "SHOW max_identifier_length"));
                int nameBytes = req.toDb().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (nameBytes > maxName) {
                    throw new PgstrataException(ErrorCode.USAGE, "--to-db " + req.toDb() + " is " + nameBytes + " bytes long, and "
                            + server.server() + " holds database names of at most " + maxName + " bytes; nothing was restored",
                            "choose a shorter --to-db");
                }
                boolean exists = databaseExists(admin, req.toDb());
                if (only == null && exists && !req.clean()) {
                    throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "database " + req.toDb() + " already exists on " + server.server() + "; nothing was restored",
                            "choose a new --to-db (it is created), or add --clean to replace it once the restore has succeeded");
                }
                if (only != null && !exists && !req.create()) {
                    throw new PgstrataException(ErrorCode.NOT_FOUND, "database " + req.toDb() + " does not exist on " + server.server() + "; nothing was restored", "add --create to create it, or name an existing database with --to-db");
                }
                if (only != null && exists && !req.clean() && tableExists(server.withDbname(req.toDb()), only)) {
                    throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "table " + only.qualified() + " already exists in database "
                            + req.toDb() + "; nothing was restored", "add --clean to drop it first, or restore into another database");
                }
                if (only == null && exists && req.clean()) {
                    // DROP DATABASE is its owner's (or a member's, or a superuser's): refused now, not after the whole restore
                    String owner = databaseOwnerUnlessMine(admin, req.toDb());
                    if (owner != null) {
                        throw new PgstrataException(ErrorCode.SERVER, "database " + req.toDb() + " on " + server.server() + " is owned by role "
                                + owner + ", and the restoring role may not drop it to replace it (--clean); nothing was restored",
                                "restore as its owner, a member of role " + owner + " or a superuser, or restore into a new --to-db");
                    }
                }
                if (only != null && exists && req.clean()) {
                    // DROP TABLE is its owner's too: refused now, not after the backup has been read
                    String owner = tableOwnerUnlessMine(server.withDbname(req.toDb()), only);
                    if (owner != null) {
                        throw new PgstrataException(ErrorCode.SERVER, "table " + only.qualified() + " in database " + req.toDb() + " on "
                                + server.server() + " is owned by role " + owner + ", and the restoring role may not drop it to replace it"
                                + " (--clean); nothing was restored",
                                "restore as its owner, a member of role " + owner + " or a superuser, or restore into another database");
                    }
                }
                List<String> warnings = new ArrayList<>();
                // What restores killed earlier left behind: removed when provably theirs and dead, named otherwise.
                List<String> leftovers = new ArrayList<>(Leftovers.cleanDatabases(admin));
                leftovers.addAll(Leftovers.cleanWorkDirectories(Path.of(System.getProperty("java.io.tmpdir"))));
                LogicalManifest.DatabaseProperties properties = only == null ? databaseProperties(admin, req, m, warnings) : null;
                warnings.addAll(0, leftovers);
                Path work = Leftovers.createWorkDirectory();
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
                        LogicalManifest.LargeObjects los = m.largeObjects();
                        if (only == null && los != null) {
                            for (StoredFile f : new StoredFile[] {los.data(), los.deletes()}) {
                                if (f != null) {
                                    files.put(f.name(), materialize(repo, m, f, work.resolve(f.name())));
                                }
                            }
                        }
                    }
                    Steps steps = new Steps(pgRestore, req, m, full, fullDump, schemaDump, files, work, only, properties, warnings);
                    List<String> whole = m.tables().stream().filter(t -> LogicalTable.WHOLE.equals(t.mode()) && (only == null || only.equals(t)))
                            .map(t -> t.qualified() + ": " + t.reason()).toList();
                    for (String w : whole) {
                        progress.warn("table " + w.replace(": ", " was stored whole in the differential (") + ")");
                    }
                    if (only == null) {
                        String temp = Leftovers.temporaryDatabase();
                        createDatabase(admin, temp, m, warnings);
                        org.pgstrata.api.TestHooks.pauseAt("logical-restore-temporary-database", progress);
                        boolean done = false;
                        try {
                            steps.run(server.withDbname(temp));
                            if (exists) {
                                progress.step("replacing database " + req.toDb());
                                // swapped by two renames in one transaction, the old one dropped after: killed at any point, the
                                // name holds the old database or the restored one, never neither; the old one under a temporary
                                // name of this process is what the next restore removes if this one dies before its DROP
                                String aside = Leftovers.temporaryDatabase();
                                admin.setAutoCommit(false);
                                try {
                                    Db.execute(admin, "ALTER DATABASE " + Catalog.ident(req.toDb()) + " RENAME TO " + Catalog.ident(aside));
                                    Db.execute(admin, "ALTER DATABASE " + Catalog.ident(temp) + " RENAME TO " + Catalog.ident(req.toDb()));
                                    admin.commit();
                                } catch (SQLException e) {
                                    admin.rollback();
                                    if (!"55006".equals(e.getSQLState())) {
                                        throw e;
                                    }
                                    throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "database " + req.toDb() + " on " + server.server()
                                            + " cannot be replaced: other sessions are connected to it; it was left as it was",
                                            "end those sessions (pg_stat_activity shows them), then restore again, or restore into a new --to-db");
                                } finally {
                                    admin.setAutoCommit(true);
                                }
                                done = true;
                                try {
                                    Db.execute(admin, "DROP DATABASE " + Catalog.ident(aside));
                                } catch (SQLException e) {
                                    warnings.add("could not drop the database replaced, now named " + aside + ": " + e.getMessage().split("\n")[0]
                                            + " (the next logical restore removes it)");
                                }
                            } else {
                                Db.execute(admin, "ALTER DATABASE " + Catalog.ident(temp) + " RENAME TO " + Catalog.ident(req.toDb()));
                                done = true;
                            }
                        } finally {
                            if (!done) {
                                dropQuietly(admin, temp);
                            }
                        }
                    } else {
                        // a new database is restored under a temporary name too, renamed once complete: a restore
                        // killed half way leaves no database of that name that looks restored
                        String into = exists ? req.toDb() : Leftovers.temporaryDatabase();
                        if (!exists) {
                            createDatabase(admin, into, m, warnings);
                        }
                        ConnectionSettings target = server.withDbname(into);
                        if (exists && req.clean()) {
                            // not CASCADE: that would drop other objects (views, other tables' foreign keys) that this
                            // restore does not bring back. Tried and rolled back: the restore drops the table in the
                            // transaction that restores it, so a restore that fails or is killed leaves it as it was
                            try (Connection tc = Db.connect(target, "pgstrata logical restore")) {
                                tc.setAutoCommit(false);
                                Db.execute(tc, "DROP TABLE IF EXISTS " + Catalog.ident(only.schema()) + "." + Catalog.ident(only.name()));
                                tc.rollback();
                            } catch (SQLException e) {
                                if (!"2BP01".equals(e.getSQLState())) {
                                    throw e;
                                }
                                String detail = e instanceof org.postgresql.util.PSQLException pe && pe.getServerErrorMessage() != null
                                        && pe.getServerErrorMessage().getDetail() != null ? pe.getServerErrorMessage().getDetail() : e.getMessage();
                                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "table " + only.qualified() + " in database " + req.toDb()
                                        + " cannot be replaced: other objects depend on it (" + detail.replace("\n", "; ")
                                        + "); nothing was restored", "drop or change those objects first, or restore into another database");
                            }
                        }
                        // into an existing database: one psql session runs the whole restore of the table (its replacement
                        // too) in one transaction, so that a failure or a kill at any point leaves the target as it was
                        steps.oneTransaction = exists;
                        steps.replaceTable = exists && req.clean();
                        boolean done = false;
                        try {
                            steps.run(target);
                            if (!exists) {
                                Db.execute(admin, "ALTER DATABASE " + Catalog.ident(into) + " RENAME TO " + Catalog.ident(req.toDb()));
                            }
                            done = true;
                        } finally {
                            if (!done && !exists) {
                                dropQuietly(admin, into);
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
                    for (String w : warnings) {
                        progress.warn(w);
                    }
                    return new LogicalRestoreResult(m.id(), chain, req.toDb(), only == null ? null : only.qualified(),
                            only == null ? m.tables().size() : 1, whole, changed, deleted, warnings, (System.nanoTime() - t0) / 1e9);
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

    /**
     * The settings and comment to give a whole restored database: those of the backup's database.
     * A role with settings there that the server lacks makes the restore refuse before it starts,
     * unless --no-owner (which restores no roles' ownership either) leaves its settings out.
     */
    private static LogicalManifest.DatabaseProperties databaseProperties(Connection admin, LogicalRestoreRequest req, LogicalManifest m,
                                                                        List<String> warnings) throws SQLException {
        LogicalManifest.DatabaseProperties p = m.databaseProperties();
        if (p == null) {
            warnings.add("backup " + m.id() + " was taken by an older pgstrata, which did not record the settings and comment of database "
                    + m.database() + ": they are not restored");
            return null;
        }
        String server = req.connection().server();
        // the owner and the privileges, unless left out; a role they name that the server lacks is refused, as pg_restore
        // refuses it on the database's objects
        String owner = req.noOwner() ? null : p.owner();
        List<LogicalManifest.Grant> grants = req.noPrivileges() ? null : p.grants();
        if (owner != null && !roleExists(admin, owner)) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "role " + owner + ", which owns database " + m.database() + " in backup " + m.id()
                    + ", does not exist on " + server + "; nothing was restored", "create the role first, or add --no-owner to restore without owners");
        }
        for (LogicalManifest.Grant g : grants == null ? List.<LogicalManifest.Grant>of() : grants) {
            if (g.grantee() != null && !roleExists(admin, g.grantee())) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "role " + g.grantee() + ", which backup " + m.id() + " grants privileges on database "
                        + m.database() + " to, does not exist on " + server + "; nothing was restored",
                        "create the role first, or add --no-privileges to restore without privileges");
            }
        }
        p = new LogicalManifest.DatabaseProperties(p.comment(), p.settings(), owner, p.connectionLimit(), grants, p.locale());
        List<String> missing = new ArrayList<>();
        for (LogicalManifest.Setting s : p.settings()) {
            if (s.role() != null && !missing.contains(s.role()) && !roleExists(admin, s.role())) {
                missing.add(s.role());
            }
        }
        if (missing.isEmpty()) {
            return p;
        }
        if (!req.noOwner()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "role " + String.join(", ", missing) + ", which has settings in database " + m.database()
                    + " in backup " + m.id() + ", does not exist on " + server + "; nothing was restored",
                    "create the role first, or add --no-owner to restore without owners and without those settings");
        }
        for (String r : missing) {
            warnings.add("role " + r + " does not exist on " + server + ": its settings in database " + m.database() + " were left out (--no-owner)");
        }
        return new LogicalManifest.DatabaseProperties(p.comment(), p.settings().stream().filter(s -> s.role() == null || !missing.contains(s.role()))
                .toList(), p.owner(), p.connectionLimit(), p.grants(), p.locale());
    }

    private static boolean roleExists(Connection admin, String role) throws SQLException {
        try (PreparedStatement ps = admin.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Creates the database restored into with the encoding and locale of the one backed up, as
     * pg_restore --create would; a server that cannot give them (a locale it lacks) gets its
     * defaults, and the restore says so.
     */
    private static void createDatabase(Connection admin, String name, LogicalManifest m, List<String> warnings) throws SQLException {
        LogicalManifest.Locale l = m.databaseProperties() == null ? null : m.databaseProperties().locale();
        if (l == null) {
            Db.execute(admin, "CREATE DATABASE " + Catalog.ident(name) + " TEMPLATE template0");
            return;
        }
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + Catalog.ident(name) + " TEMPLATE template0 ENCODING " + literal(l.encoding()));
        boolean libc = l.provider() == null || "c".equals(l.provider());
        if (!libc) {
            boolean icu = "i".equals(l.provider());
            sql.append(" LOCALE_PROVIDER ").append(icu ? "icu" : "builtin");
            if (l.locale() != null) {
                sql.append(icu ? " ICU_LOCALE " : " BUILTIN_LOCALE ").append(literal(l.locale()));
            }
        }
        sql.append(" LC_COLLATE ").append(literal(l.collate())).append(" LC_CTYPE ").append(literal(l.ctype()));
        String wanted = l.encoding() + ", collation " + l.collate() + ", ctype " + l.ctype() + (libc ? "" : ", " + l.provider() + " locale " + l.locale());
        try (Statement st = admin.createStatement()) {
            // admin runs in autocommit: a refused CREATE DATABASE leaves nothing behind
            st.execute(sql.toString());
        } catch (SQLException e) {
            if (!"22023".equals(e.getSQLState()) && !"42704".equals(e.getSQLState()) && !"0A000".equals(e.getSQLState())) {
                throw e;
            }
            Db.execute(admin, "CREATE DATABASE " + Catalog.ident(name) + " TEMPLATE template0");
            warnings.add("database " + m.database() + " was created with encoding " + wanted + ", which this server refused ("
                    + String.valueOf(e.getMessage()).split("\n")[0] + "): it was restored with the server's defaults instead");
        }
    }

    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private static LogicalManifest newest(Repository repo) {
        Repository.Catalogue<LogicalManifest> catalogue = repo.logicalCatalogue();
        catalogue.requireNoDamage("choose the newest logical backup",
                "name an intact backup with --backup ID ('pgstrata list' shows which are damaged), or delete the damaged one");
        List<LogicalManifest> all = catalogue.backups();
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
                try {
                    repo.logicalManifest(diff.reference()); // says so when the full lost its manifest (its end mark is there)
                } catch (PgstrataException e) {
                    if (e.code() == ErrorCode.CORRUPT) {
                        throw new PgstrataException(ErrorCode.CORRUPT, "logical differential " + diff.id() + " builds on logical full "
                                + diff.reference() + ", which is damaged (" + e.getMessage() + "); nothing was restored", e.hint());
                    }
                }
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

    /**
     * The table --table names: "name" (in any schema), "schema.name" as the backup lists it (a dot
     * in the schema's or the table's name is tried at every place it could split them), or the
     * SQL form with double quotes ("schema"."name", a doubled quote standing for one).
     */
    static LogicalTable findTable(LogicalManifest m, String name) {
        List<String[]> candidates = new ArrayList<>();
        List<String> quoted = quotedName(name);
        if (quoted != null) {
            candidates.add(quoted.size() == 1 ? new String[] {null, quoted.get(0)} : new String[] {quoted.get(0), quoted.get(1)});
        } else {
            candidates.add(new String[] {null, name});
            for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
                if (dot > 0 && dot < name.length() - 1) {
                    candidates.add(new String[] {name.substring(0, dot), name.substring(dot + 1)});
                }
            }
        }
        List<LogicalTable> matches = new ArrayList<>();
        for (LogicalTable t : m.tables()) {
            for (String[] c : candidates) {
                if (t.name().equals(c[1]) && (c[0] == null || t.schema().equals(c[0])) && !matches.contains(t)) {
                    matches.add(t);
                }
            }
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        throw new PgstrataException(matches.isEmpty() ? ErrorCode.NOT_FOUND : ErrorCode.USAGE,
                matches.isEmpty() ? "backup " + m.id() + " has no table " + name : "table name " + name + " is ambiguous in backup " + m.id(),
                matches.isEmpty() ? "tables in it: " + String.join(", ", m.tables().stream().map(LogicalTable::qualified).limit(10).toList())
                        + (m.tables().size() > 10 ? " and " + (m.tables().size() - 10) + " more" : "")
                        + " (a partitioned table is listed by its partitions, which hold its rows: name one of them)"
                        : "qualify it with its schema, in double quotes where a name holds a dot, e.g. "
                        + Catalog.ident(matches.get(0).schema()) + "." + Catalog.ident(matches.get(0).name()));
    }

    /**
     * The parts of a name written with SQL double quotes ("s"."t", s."t", "t"): one or two, each
     * quoted part as it stands inside its quotes; null when it has no quote or does not parse so.
     */
    private static List<String> quotedName(String name) {
        if (name.indexOf('"') < 0) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        int i = 0;
        int n = name.length();
        while (true) {
            StringBuilder part = new StringBuilder();
            if (i < n && name.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) {
                        return null;
                    }
                    char ch = name.charAt(i++);
                    if (ch == '"') {
                        if (i < n && name.charAt(i) == '"') {
                            part.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        part.append(ch);
                    }
                }
            } else {
                while (i < n && name.charAt(i) != '.' && name.charAt(i) != '"') {
                    part.append(name.charAt(i++));
                }
                if (part.length() == 0) {
                    return null;
                }
            }
            parts.add(part.toString());
            if (i == n) {
                return parts.size() <= 2 ? parts : null;
            }
            if (name.charAt(i) != '.') {
                return null;
            }
            i++;
        }
    }

    private static boolean databaseExists(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The owner of database {@code name} when the connected role lacks its owner's privileges (DROP needs them); null when it has them. */
    private static String databaseOwnerUnlessMine(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_userbyid(datdba), pg_has_role(datdba, 'USAGE') FROM pg_database WHERE datname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && !rs.getBoolean(2) ? rs.getString(1) : null;
            }
        }
    }

    /** The owner of table {@code t} when the connected role lacks its owner's privileges (DROP needs them); null when it has them or there is no such table. */
    private static String tableOwnerUnlessMine(ConnectionSettings s, LogicalTable t) throws SQLException {
        try (Connection c = Db.connect(s, "pgstrata logical restore"); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_get_userbyid(c.relowner), pg_has_role(c.relowner, 'USAGE') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        + " WHERE n.nspname = ? AND c.relname = ?")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && !rs.getBoolean(2) ? rs.getString(1) : null;
            }
        }
    }

    private static boolean tableExists(ConnectionSettings s, LogicalTable t) throws SQLException {
        try (Connection c = Db.connect(s, "pgstrata logical restore"); PreparedStatement ps = c.prepareStatement(
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
        private final LogicalManifest.DatabaseProperties properties;
        private final List<String> warnings;

        Steps(PgClient pgRestore, LogicalRestoreRequest req, LogicalManifest m, LogicalManifest full, Path fullDump, Path schemaDump,
              Map<String, Path> files, Path work, LogicalTable only, LogicalManifest.DatabaseProperties properties, List<String> warnings) {
            this.pgRestore = pgRestore;
            this.req = req;
            this.m = m;
            this.full = full;
            this.fullDump = fullDump;
            this.schemaDump = schemaDump;
            this.files = files;
            this.work = work;
            this.only = only;
            this.properties = properties;
            this.warnings = warnings;
        }

        /** With --table: the target database has no schema of the table's name yet. */
        private boolean schemaMissing;
        /** With --table into an existing database: the whole restore is one script that psql runs in one transaction. */
        boolean oneTransaction;
        /** With --table --clean into an existing database: that script drops the table there first. */
        boolean replaceTable;

        void run(ConnectionSettings target) throws IOException, SQLException {
            if (only != null) {
                try (Connection c = Db.connect(target, "pgstrata logical restore");
                     PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_namespace WHERE nspname = ?")) {
                    ps.setString(1, only.schema());
                    try (ResultSet rs = ps.executeQuery()) {
                        schemaMissing = !rs.next();
                    }
                }
            }
            if (properties != null) {
                // once before anything is restored, rolled back: a setting the server refuses stops the restore now, not at the end
                applyProperties(target, false);
            }
            if (oneTransaction) {
                oneTable(target);
            } else if (!m.differential()) {
                progress.step("pg_restore of " + full.id() + " into " + req.toDb());
                pgRestore(target, fullDump, null, only == null ? null : tableList(fullDump, "table"));
            } else {
                differential(target);
            }
            if (properties != null) {
                // last: a setting such as default_transaction_read_only would stand in the way of the steps before
                applyProperties(target, true);
            }
        }

        private void differential(ConnectionSettings target) throws IOException, SQLException {
            progress.step("schema of " + m.id() + " into " + req.toDb());
            pgRestore(target, schemaDump, "pre-data", only == null ? null : tableList(schemaDump, "table"));
            if (only == null && m.dumpSections() == null) {
                warnAboutAnOlderDifferential();
            }
            List<LogicalTable> deltas = m.tables().stream().filter(t -> LogicalTable.DELTA.equals(t.mode()) && (only == null || only.equals(t))).toList();
            LogicalManifest.LargeObjects los = only == null ? m.largeObjects() : null;
            // the content of the objects unchanged since the full is the full's
            boolean fullsObjects = los != null && LogicalManifest.LargeObjects.DELTA.equals(los.mode()) && full.largeObjects().count() > 0;
            List<Long> gone = los != null && los.deletes() != null ? oids(files.get(los.deletes().name())) : List.of();
            if (fullsObjects && !gone.isEmpty()) {
                // pg_restore writes the full's content into objects the schema made: those gone since must exist for a while
                try (Connection c = Db.connect(target, "pgstrata logical restore"); PreparedStatement ps = c.prepareStatement("SELECT lo_create(?::bigint::oid)")) {
                    for (long oid : gone) {
                        ps.setLong(1, oid);
                        ps.execute();
                    }
                }
            }
            if (!deltas.isEmpty() || fullsObjects) {
                progress.step("data of " + deltas.size() + " table(s)" + (fullsObjects ? " and " + full.largeObjects().count() + " large objects" : "")
                        + " from " + full.id());
                Path list = tocList(fullDump, e -> fullsObjects && e.desc().startsWith("BLOBS ")
                        || e.desc().startsWith("TABLE DATA ") && deltas.stream().anyMatch(t -> dataOf(t, e)), "data");
                pgRestore(target, fullDump, "data", list);
            }
            try (Connection c = m.rowsEncoding() == null ? Db.connect(target, "pgstrata logical restore")
                    : Db.connectForCopy(target, "pgstrata logical restore")) {
                // as pg_restore does: a policy that would hide rows from the deletes is an error, not a silent miss
                Db.execute(c, "SET row_security = off");
                // as pg_restore does: xml fragments ("a<b/>c"), which a server whose default is document would refuse
                Db.execute(c, "SET xmloption = content");
                // a NULL element of an array as COPY wrote it, not the text 'NULL' (see PgClient#withSettings)
                Db.execute(c, "SET array_nulls = on");
                if (m.moneyInC()) {
                    // the differential's rows hold money as its backup wrote them
                    Db.execute(c, "SET lc_monetary = '" + LogicalManifest.MONEY_LOCALE + "'");
                }
                CopyManager copy = new CopyManager(c.unwrap(BaseConnection.class));
                for (LogicalTable t : m.tables()) {
                    if (LogicalTable.WHOLE.equals(t.mode()) && (only == null || only.equals(t)) && t.rowsObject() != null) {
                        progress.step("rows of " + t.qualified() + " from " + m.id() + " (stored whole: " + t.reason() + ")");
                        // a table whose columns were all dropped has rows but no column to list: COPY without a list
                        // takes every column, none here (generated columns are never listed, the server computes them)
                        copyIn(c, copy, "COPY " + sqlName(t) + (t.columns().isEmpty() ? "" : " (" + columns(t) + ")") + " FROM STDIN",
                                files.get(t.rowsObject().name()));
                    }
                }
                c.setAutoCommit(false);
                org.pgstrata.api.TestHooks.pauseAt("logical-restore-changes", progress);
                progress.step("applying the changes of " + m.id() + " (" + deltas.size() + " table(s)) in one transaction");
                for (LogicalTable t : deltas) {
                    apply(c, copy, t);
                }
                if (los != null) {
                    largeObjects(c, los, fullsObjects ? gone : List.of());
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
            pgRestore(target, schemaDump, "post-data", only == null ? null : tableList(schemaDump, "table-post"));
        }

        /**
         * The restore of the one table into an existing database as one script that psql runs in one
         * transaction (--single-transaction, ON_ERROR_STOP): with --clean the table's DROP, then
         * pg_restore's SQL for its definition, rows, owned sequences, indexes and constraints, and for
         * a differential the rows it holds and its changes between the data and the indexes, as
         * {@link #differential} applies them. A failure rolls it all back; so does a kill, which ends
         * psql (started with a parent-death signal) and with it the session.
         */
        private void oneTable(ConnectionSettings target) throws IOException {
            Path script = work.resolve("table.sql");
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(script), 1 << 16)) {
                sql(out, "SET client_min_messages = warning;");
                sql(out, "SET client_encoding = 'UTF8';"); // this script's own statements, as Java writes them; pg_restore's set theirs
                if (replaceTable) {
                    // not CASCADE: checked before anything was read that nothing else depends on it
                    sql(out, "DROP TABLE IF EXISTS " + sqlName(only) + ";");
                }
                if (!m.differential()) {
                    money(out, full.moneyInC());
                    script(out, fullDump, null, tableList(fullDump, "table"));
                } else {
                    script(out, schemaDump, "pre-data", tableList(schemaDump, "table"));
                    boolean delta = LogicalTable.DELTA.equals(only.mode());
                    if (delta) {
                        money(out, full.moneyInC());
                        script(out, fullDump, "data", tocList(fullDump, e -> e.desc().startsWith("TABLE DATA ") && dataOf(only, e), "data"));
                    }
                    sql(out, "SET client_encoding = 'UTF8';");
                    sql(out, "SET standard_conforming_strings = on;");
                    sql(out, "SET row_security = off;");
                    sql(out, "SET xmloption = content;");
                    sql(out, "SET array_nulls = on;");
                    money(out, m.moneyInC());
                    if (LogicalTable.WHOLE.equals(only.mode()) && only.rowsObject() != null) {
                        copy(out, "COPY " + sqlName(only) + (only.columns().isEmpty() ? "" : " (" + columns(only) + ")") + " FROM STDIN;",
                                files.get(only.rowsObject().name()));
                    }
                    if (delta) {
                        String keyCols = String.join(", ", only.key().stream().map(Catalog::ident).toList());
                        if (only.deletes() != null) {
                            sql(out, "CREATE TEMP TABLE pgstrata_deletes AS SELECT " + keyCols + " FROM " + sqlName(only) + " WITH NO DATA;");
                            copy(out, "COPY pgstrata_deletes FROM STDIN;", files.get(only.deletes().name()));
                            deleteMatching(out, "pgstrata_deletes");
                            sql(out, "DROP TABLE pgstrata_deletes;");
                        }
                        if (only.rowsObject() != null) {
                            String cols = columns(only);
                            sql(out, "CREATE TEMP TABLE pgstrata_rows AS SELECT " + cols + " FROM " + sqlName(only) + " WITH NO DATA;");
                            copy(out, "COPY pgstrata_rows FROM STDIN;", files.get(only.rowsObject().name()));
                            deleteMatching(out, "pgstrata_rows");
                            sql(out, "INSERT INTO " + sqlName(only) + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols + " FROM pgstrata_rows;");
                            sql(out, "DROP TABLE pgstrata_rows;");
                        }
                    }
                    for (SequenceValue sv : m.sequences()) {
                        if (only.ownedSequences().contains(sv.name()) && only.schema().equals(sv.schema())) {
                            sql(out, "SELECT pg_catalog.setval(" + literal(Catalog.ident(sv.schema()) + "." + Catalog.ident(sv.name())) + "::pg_catalog.regclass, "
                                    + sv.lastValue() + ", " + sv.isCalled() + ");");
                        }
                    }
                    script(out, schemaDump, "post-data", tableList(schemaDump, "table-post"));
                }
                attachToParent(out, m.differential() ? schemaDump : fullDump);
            }
            progress.step("restoring table " + only.qualified() + " of " + String.join(" + ", m.differential() ? List.of(full.id(), m.id()) : List.of(m.id()))
                    + " into " + req.toDb() + " in one transaction");
            Path psql = pgRestore.program().resolveSibling("psql");
            if (!Files.isExecutable(psql)) {
                throw new PgstrataException(ErrorCode.BINARIES, "no psql beside " + pgRestore.program() + ": it restores one table into an existing"
                        + " database in one transaction; nothing was restored", "install the PostgreSQL client programs whole, or point --pg-bin at"
                        + " a bin directory that holds pg_restore and psql");
            }
            List<String> cmd = List.of(psql.toString(), "--no-psqlrc", "--quiet", "--no-password", "--single-transaction", "--echo-errors",
                    "--set=ON_ERROR_STOP=1", "--dbname=" + conninfo(target.dbname()), "--file=" + script);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            PgClient.connectTo(pb.environment(), target);
            PgClient.withSettings(pb.environment(), PgClient.WRITABLE, PgClient.ARRAY_NULLS);
            Path err = Files.createTempFile(work, "psql-", ".err");
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
            Process p = org.pgstrata.api.ChildProcesses.start(pb);
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new PgstrataException(ErrorCode.INTERNAL, "interrupted while psql restored table " + only.qualified(), null);
            }
            if (p.exitValue() != 0) {
                String what = "restore table " + only.qualified();
                missingRole(Files.readString(err), what);
                String first = firstError(err).replaceFirst("^psql:.*?:\\d+: ", "");
                throw new PgstrataException(ErrorCode.DUMP_FAILED, "psql failed to " + what + " (exit " + p.exitValue() + "): " + first
                        + leftState(), hintFor(first));
            }
        }

        /**
         * A partition's ATTACH PARTITION (pg_dump's entry of its own, which {@link #tableList} leaves
         * out), last, once the table has its rows and its indexes (the parent's indexes take them
         * over rather than building new ones), and only where the target has the parent: restored
         * with --clean over a partition in place, the table would otherwise come back detached, its
         * rows gone from the parent's. A database without the parent gets the table on its own, as
         * before. The parent's name is read from pg_restore's statement, in its bytes and its encoding.
         */
        private void attachToParent(OutputStream out, Path archive) throws IOException {
            List<TocEntry> entries = toc(archive);
            java.util.Set<Long> table = tableEntries(entries);
            String prefix = "TABLE ATTACH " + listed(only.schema()) + " " + listed(only.name()) + " ";
            Path list = work.resolve("attach-" + archive.getFileName() + ".list");
            StringBuilder lines = new StringBuilder();
            for (TocEntry e : entries) {
                if (e.desc().startsWith(prefix) && e.dependsOn().stream().anyMatch(table::contains)) {
                    lines.append(e.line()).append('\n');
                }
            }
            if (lines.isEmpty()) {
                return;
            }
            Files.writeString(list, lines.toString());
            java.io.ByteArrayOutputStream part = new java.io.ByteArrayOutputStream();
            script(part, archive, null, list);
            String text = part.toString(java.nio.charset.StandardCharsets.ISO_8859_1); // byte for byte, whatever the dump's encoding
            java.util.regex.Matcher alter = java.util.regex.Pattern.compile("(?ms)^ALTER TABLE ONLY (.+?) ATTACH PARTITION ").matcher(text);
            if (!alter.find()) {
                throw new PgstrataException(ErrorCode.INTERNAL, "pg_restore wrote no ALTER TABLE ... ATTACH PARTITION for partition " + only.qualified()
                        + "; nothing was restored", null);
            }
            // outside the part: pg_restore's script runs \\restrict, under which psql refuses \\gset and \\if
            java.util.regex.Matcher encoding = java.util.regex.Pattern.compile("(?m)^SET client_encoding = '[^']*';$").matcher(text);
            out.write(((encoding.find() ? encoding.group() + "\n" : "")
                    + "SELECT pg_catalog.to_regclass(" + literal(alter.group(1)) + ") IS NOT NULL AS pgstrata_has_parent \\gset\n"
                    + "\\if :pgstrata_has_parent\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            part.writeTo(out);
            sql(out, "\\endif");
        }

        /** Appends pg_restore's SQL for {@code section} (null: all) of the entries {@code list} names. */
        private void script(OutputStream out, Path archive, String section, Path list) throws IOException {
            Path part = Files.createTempFile(work, "part-", ".sql");
            List<String> args = new ArrayList<>(List.of("--file=" + part));
            args.addAll(selection(archive, section, list));
            runPgRestore(args, null, "write " + (section == null ? "" : section + " of ") + archive.getFileName() + " as SQL", false);
            Files.copy(part, out);
            out.write('\n');
            Files.delete(part);
        }

        /** Deletes the rows of the table whose key {@code changes} holds, matched as {@link #keyMatch} matches them, built once the table is there. */
        private void deleteMatching(OutputStream out, String changes) throws IOException {
            String table = literal(sqlName(only));
            String keys = "ARRAY[" + String.join(", ", only.key().stream().map(LogicalRestore::literal).toList()) + "]::pg_catalog.text[]";
            sql(out, "SELECT pg_catalog.format('DELETE FROM ONLY %s t USING " + changes + " d WHERE %s', " + table + ", pg_catalog.string_agg("
                    + "CASE WHEN ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace THEN pg_catalog.format('t.%1$I = d.%1$I', a.attname) "
                    + "ELSE pg_catalog.format('t.%1$I::text = d.%1$I::text', a.attname) END, ' AND ' ORDER BY k.i)) "
                    + "FROM pg_catalog.unnest(" + keys + ") WITH ORDINALITY AS k(name, i) "
                    + "JOIN pg_catalog.pg_attribute a ON a.attrelid = " + table + "::pg_catalog.regclass AND a.attname = k.name "
                    + "JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid \\gexec");
        }

        /** A COPY FROM STDIN in the script, its rows those of {@code file} (in the rows' encoding), ended by a line "\\.". */
        private void copy(OutputStream out, String statement, Path file) throws IOException {
            sql(out, "SET client_encoding = '" + (m.rowsEncoding() != null ? m.rowsEncoding() : "UTF8") + "';");
            sql(out, statement);
            long size = Files.size(file);
            Files.copy(file, out);
            if (size > 0 && lastByte(file) != '\n') {
                out.write('\n');
            }
            sql(out, "\\.");
            sql(out, "SET client_encoding = 'UTF8';");
        }

        private static int lastByte(Path file) throws IOException {
            try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
                ch.position(ch.size() - 1).read(b);
                return b.get(0);
            }
        }

        /** lc_monetary as the next rows were written: C, or (older backups) the session's default. */
        private void money(OutputStream out, boolean inC) throws IOException {
            sql(out, inC ? "SET lc_monetary = '" + LogicalManifest.MONEY_LOCALE + "';" : "RESET lc_monetary;");
        }

        private static void sql(OutputStream out, String line) throws IOException {
            out.write((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        /** Whether a TABLE DATA entry of the full's archive holds the data of {@code t}: by the table's oid, by name in older backups. */
        private boolean dataOf(LogicalTable t, TocEntry e) {
            LogicalTable inFull = full.table(t.schema(), t.name()).orElseThrow();
            return inFull.oid() != null ? inFull.oid() == e.oid() : e.desc().startsWith("TABLE DATA " + t.schema() + " " + t.name() + " ");
        }

        /**
         * The large objects' content: the objects gone since the full are unlinked, and those new
         * or changed get the differential's bytes (the schema made every object that exists, with
         * its owner, privileges and comment; the full's content is in those it had).
         */
        private void largeObjects(Connection c, LogicalManifest.LargeObjects los, List<Long> gone) throws SQLException, IOException {
            try (PreparedStatement ps = c.prepareStatement("SELECT lo_unlink(?::bigint::oid)")) {
                for (long oid : gone) {
                    ps.setLong(1, oid);
                    ps.execute();
                }
            }
            if (los.data() == null) {
                return;
            }
            progress.step("content of " + los.changed() + " large objects from " + m.id());
            LargeObjectManager api = c.unwrap(PGConnection.class).getLargeObjectAPI();
            try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(files.get(los.data().name())), 1 << 16)) {
                LargeObjectData.readData(in, new LargeObjectData.Target() {
                    private LargeObject lo;

                    @Override
                    public void begin(long oid) throws SQLException {
                        lo = api.open(oid, LargeObjectManager.WRITE);
                        lo.truncate64(0);
                    }

                    @Override
                    public void chunk(byte[] b, int len) throws SQLException {
                        lo.write(b, 0, len);
                    }

                    @Override
                    public void end(long oid) throws SQLException {
                        lo.close();
                    }
                });
            }
        }

        /**
         * A differential taken before pgstrata carried large objects and materialized views' data
         * (its archive is --schema-only): says what such a restore leaves out.
         */
        private void warnAboutAnOlderDifferential() throws IOException {
            List<String> views = new ArrayList<>();
            for (TocEntry e : toc(schemaDump)) {
                if (e.desc().startsWith("MATERIALIZED VIEW ") && !e.desc().startsWith("MATERIALIZED VIEW DATA ")) {
                    String d = e.desc().substring("MATERIALIZED VIEW ".length()).trim();
                    views.add(d.contains(" ") ? d.substring(0, d.lastIndexOf(' ')) : d); // without the owner
                }
            }
            if (!views.isEmpty()) {
                warnings.add("materialized views " + String.join(", ", views) + " may be left unpopulated: differential " + m.id()
                        + " was taken by an older pgstrata and holds only the schema; run REFRESH MATERIALIZED VIEW on them");
            }
            boolean fullHasObjects = full.largeObjects() != null ? full.largeObjects().count() > 0
                    : toc(fullDump).stream().anyMatch(e -> e.desc().startsWith("BLOB"));
            if (fullHasObjects) {
                warnings.add("the large objects are not restored: differential " + m.id() + " was taken by an older pgstrata, which did not carry "
                        + "them; restore logical full " + full.id() + " for them");
            }
        }

        /**
         * The database's settings and comment, each statement built by the server's format(),
         * which quotes every name and value; committed, or only tried.
         */
        private void applyProperties(ConnectionSettings target, boolean commit) throws SQLException {
            boolean limited = properties.connectionLimit() != null && properties.connectionLimit() != -1;
            if (properties.settings().isEmpty() && properties.comment() == null && properties.owner() == null && !limited
                    && properties.grants() == null) {
                return;
            }
            progress.step((commit ? "" : "checking the ") + "settings and comment of database " + m.database());
            String values = "coalesce((SELECT string_agg(quote_literal(e), ', ' ORDER BY i) FROM unnest(?::text[]) WITH ORDINALITY AS u(e, i)), '''''')";
            try (Connection c = Db.connect(target, "pgstrata logical restore")) {
                c.setAutoCommit(false);
                for (LogicalManifest.Setting s : properties.settings()) {
                    List<String> elements = LIST_SETTINGS.contains(s.name().toLowerCase(java.util.Locale.ROOT)) ? gucList(s.value()) : List.of(s.value());
                    String what = "setting " + s.name() + (s.role() == null ? "" : " of role " + s.role()) + " in database " + m.database();
                    try (PreparedStatement ps = c.prepareStatement(s.role() == null
                            ? "SELECT format('ALTER DATABASE %I SET %I TO %s', current_database(), ?::text, " + values + ")"
                            : "SELECT format('ALTER ROLE %I IN DATABASE %I SET %I TO %s', ?::text, current_database(), ?::text, " + values + ")")) {
                        int i = 1;
                        if (s.role() != null) {
                            ps.setString(i++, s.role());
                        }
                        ps.setString(i++, s.name());
                        ps.setArray(i, c.createArrayOf("text", elements.toArray()));
                        execute(c, ps, what);
                    }
                }
                if (properties.comment() != null) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), ?::text)")) {
                        ps.setString(1, properties.comment());
                        execute(c, ps, "the comment of database " + m.database());
                    }
                }
                if (properties.owner() != null) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), ?::text)")) {
                        ps.setString(1, properties.owner());
                        execute(c, ps, "owner of database " + m.database(), "restore as a superuser or a member of role " + properties.owner()
                                + ", or add --no-owner to leave the database to the restoring role");
                    }
                }
                if (limited) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT format('ALTER DATABASE %I CONNECTION LIMIT %s', current_database(), ?::int)")) {
                        ps.setInt(1, properties.connectionLimit());
                        execute(c, ps, "connection limit of database " + m.database());
                    }
                }
                if (properties.grants() != null) {
                    // from the default privileges (the owner's, PUBLIC's) to exactly those of the backup
                    String what = "privileges on database " + m.database();
                    String privilegesHint = "restore as a superuser or the database's owner, or add --no-privileges to keep the default ones";
                    try (PreparedStatement ps = c.prepareStatement("SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database())")) {
                        execute(c, ps, what, privilegesHint);
                    }
                    try (PreparedStatement ps = c.prepareStatement(
                            "SELECT format('REVOKE ALL ON DATABASE %1$I FROM %2$I', d.datname, pg_get_userbyid(d.datdba)) FROM pg_database d "
                                    + "WHERE d.datname = current_database()")) {
                        execute(c, ps, what, privilegesHint);
                    }
                    for (LogicalManifest.Grant g : properties.grants()) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT format('GRANT %s ON DATABASE %I TO %s%s', CASE upper(?::text) "
                                + "WHEN 'CONNECT' THEN 'CONNECT' WHEN 'CREATE' THEN 'CREATE' ELSE 'TEMPORARY' END, current_database(), "
                                + "coalesce(quote_ident(?::text), 'PUBLIC'), CASE WHEN ? THEN ' WITH GRANT OPTION' ELSE '' END)")) {
                            ps.setString(1, g.privilege());
                            ps.setString(2, g.grantee());
                            ps.setBoolean(3, g.grantable());
                            execute(c, ps, what, privilegesHint);
                        }
                    }
                }
                if (commit) {
                    c.commit();
                } else {
                    c.rollback();
                }
            }
        }

        /** Runs the statement that {@code build} returns; a refusal names what it was for. */
        private void execute(Connection c, PreparedStatement build, String what) throws SQLException {
            execute(c, build, what, "restore as a role allowed to set it (a superuser), onto a server that knows it");
        }

        private void execute(Connection c, PreparedStatement build, String what, String hint) throws SQLException {
            String sql;
            try (ResultSet rs = build.executeQuery()) {
                rs.next();
                sql = rs.getString(1);
            }
            try {
                Db.execute(c, sql);
            } catch (SQLException e) {
                throw new PgstrataException(ErrorCode.SERVER, "cannot restore the " + what + ": " + String.valueOf(e.getMessage()).split("\n")[0]
                        + "; nothing was restored", hint, e);
            }
        }

        /** Deletes the keys deleted and the old versions of the changed rows, then inserts the changed rows. */
        private void apply(Connection c, CopyManager copy, LogicalTable t) throws SQLException, IOException {
            String cols = columns(t);
            String keyCols = String.join(", ", t.key().stream().map(Catalog::ident).toList());
            String match = keyMatch(c, t);
            try (Statement st = c.createStatement()) {
                if (t.deletes() != null) {
                    st.execute("CREATE TEMP TABLE pgstrata_deletes AS SELECT " + keyCols + " FROM " + sqlName(t) + " WITH NO DATA");
                    copyIn(c, copy, "COPY pgstrata_deletes FROM STDIN", files.get(t.deletes().name()));
                    // ONLY: a table that others inherit from holds their rows too, and theirs are not this table's changes
                    st.execute("DELETE FROM ONLY " + sqlName(t) + " t USING pgstrata_deletes d WHERE " + match);
                    st.execute("DROP TABLE pgstrata_deletes");
                }
                if (t.rowsObject() != null) {
                    st.execute("CREATE TEMP TABLE pgstrata_rows AS SELECT " + cols + " FROM " + sqlName(t) + " WITH NO DATA");
                    copyIn(c, copy, "COPY pgstrata_rows FROM STDIN", files.get(t.rowsObject().name()));
                    st.execute("DELETE FROM ONLY " + sqlName(t) + " t USING pgstrata_rows d WHERE " + match);
                    st.execute("INSERT INTO " + sqlName(t) + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols + " FROM pgstrata_rows");
                    st.execute("DROP TABLE pgstrata_rows");
                }
            }
        }

        /**
         * The condition that matches a row of the table (t) with a key of the changes (d). A key
         * column of a type from outside pg_catalog (an extension's, a domain's) is compared by
         * its text: its "=" may live in a schema off the search path, where the server would not
         * find it. The text tells keys apart as the differential did (by their COPY text), and
         * both sides are printed in this one session.
         */
        private String keyMatch(Connection c, LogicalTable t) throws SQLException {
            java.util.Set<String> builtin = new java.util.HashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT a.attname FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
                    + "WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND ty.typnamespace = 'pg_catalog'::regnamespace")) {
                ps.setString(1, sqlName(t));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        builtin.add(rs.getString(1));
                    }
                }
            }
            return String.join(" AND ", t.key().stream().map(k -> builtin.contains(k)
                    ? "t." + Catalog.ident(k) + " = d." + Catalog.ident(k)
                    : "t." + Catalog.ident(k) + "::text = d." + Catalog.ident(k) + "::text").toList());
        }

        /**
         * COPY FROM of rows the backup copied itself: a SQL_ASCII database's in its encoding, so that
         * the server takes the bytes as they are (in a database of another encoding it checks them
         * against that one, as it does pg_restore's); the session's UTF8 back after.
         */
        private void copyIn(Connection c, CopyManager copy, String sql, Path file) throws SQLException, IOException {
            if (m.rowsEncoding() != null) {
                Db.execute(c, "SET client_encoding = '" + m.rowsEncoding() + "'");
            }
            try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                copy.copyIn(sql, in, 1 << 16);
            }
            if (m.rowsEncoding() != null) {
                Db.execute(c, "SET client_encoding = 'UTF8'");
            }
        }

        /** A pg_restore -L list of the entries of {@code archive} that belong to the one table restored. */
        private Path tableList(Path archive, String name) throws IOException {
            // by name, "TABLE public a ..." also begins "TABLE public a b ...": the table is found by its oid, and
            // its data, constraints, defaults and indexes by their dependency on it
            List<TocEntry> entries = toc(archive);
            java.util.Set<Long> table = tableEntries(entries);
            java.util.Set<Long> schema = new java.util.HashSet<>();
            for (TocEntry e : entries) {
                if (table.contains(e.dumpId())) {
                    schema.addAll(e.dependsOn());
                }
            }
            if (table.isEmpty()) {
                // restoring nothing and saying the table was restored would be worse than stopping
                throw new PgstrataException(ErrorCode.CORRUPT, "the archive of backup " + m.id() + " has no definition of table " + only.qualified()
                        + ", which its manifest lists; nothing was restored", "run 'pgstrata verify', and restore the whole database instead");
            }
            // its GRANTs and comments (and its columns' and owned sequences') are entries of their own, which depend on
            // the definition they belong to (a column's GRANT on the table's too): left out, a table restored with --clean
            // lost its privileges
            java.util.Set<Long> kept = new java.util.HashSet<>();
            for (TocEntry e : entries) {
                if (ofTable(e, table)) {
                    kept.add(e.dumpId());
                }
            }
            for (int before = -1; before != kept.size(); ) {
                before = kept.size();
                for (TocEntry e : entries) {
                    if (describes(e, kept)) {
                        kept.add(e.dumpId());
                    }
                }
            }
            // a schema the target lacks comes with the table (its definition: owner and all), as the table needs it
            return tocList(archive, e -> kept.contains(e.dumpId())
                    || schemaMissing && e.desc().startsWith("SCHEMA ") && schema.contains(e.dumpId()), name);
        }

        /** The dump ids of the entries that define the one table restored (by its oid where the manifest has it). */
        private java.util.Set<Long> tableEntries(List<TocEntry> entries) {
            java.util.Set<Long> table = new java.util.HashSet<>();
            for (TocEntry e : entries) {
                if (e.desc().startsWith("TABLE " + listed(only.schema()) + " " + listed(only.name()) + " ") && (only.oid() == null || only.oid() == e.oid())) {
                    table.add(e.dumpId());
                }
            }
            return table;
        }

        /** TOC entries (as pg_restore -l describes them, after the OIDs) that belong to the one table restored. */
        private boolean ofTable(TocEntry e, java.util.Set<Long> table) {
            String desc = e.desc();
            String s = listed(only.schema());
            String n = listed(only.name());
            boolean dependent = only.oid() == null || e.dependsOn().stream().anyMatch(table::contains);
            if (desc.startsWith("TABLE ") && !desc.startsWith("TABLE DATA ")) {
                return table.contains(e.dumpId());
            }
            if ((desc.startsWith("TABLE DATA " + s + " " + n + " ") || desc.startsWith("CONSTRAINT " + s + " " + n + " ")
                    || desc.startsWith("DEFAULT " + s + " " + n + " ")) && dependent) {
                return true;
            }
            for (String idx : only.indexes()) {
                if (desc.startsWith("INDEX " + s + " " + listed(idx) + " ") && dependent) {
                    return true;
                }
            }
            for (String seq : only.ownedSequences()) {
                for (String kind : List.of("SEQUENCE ", "SEQUENCE SET ", "SEQUENCE OWNED BY ")) {
                    if (desc.startsWith(kind + s + " " + listed(seq) + " ")) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** A GRANT/REVOKE, comment or security label of one of the entries {@code kept}. */
        private static boolean describes(TocEntry e, java.util.Set<Long> kept) {
            String desc = e.desc();
            return (desc.startsWith("ACL ") || desc.startsWith("COMMENT ") || desc.startsWith("SECURITY LABEL ")) && !e.dependsOn().isEmpty()
                    && kept.containsAll(e.dependsOn());
        }

        /** A name as pg_restore --list prints it: a line break in it becomes a space. */
        private static String listed(String name) {
            return name.replace('\n', ' ').replace('\r', ' ');
        }

        /** The archive's entries, as pg_restore --list prints them. */
        private List<TocEntry> toc(Path archive) throws IOException {
            // --verbose: each entry is followed by the dump ids it depends on (";\tdepends on: 214 215")
            String toc = runPgRestore(List.of("--list", "--verbose", archive.toString()), null, "list " + archive.getFileName(), false);
            List<TocEntry> entries = new ArrayList<>();
            for (String line : toc.split("\n")) {
                if (line.startsWith(";") && line.substring(1).strip().startsWith("depends on:") && !entries.isEmpty()) {
                    for (String d : line.substring(1).strip().substring("depends on:".length()).strip().split("\\s+")) {
                        if (!d.isEmpty()) {
                            entries.get(entries.size() - 1).dependsOn().add(Long.parseLong(d));
                        }
                    }
                    continue;
                }
                if (line.isBlank() || line.startsWith(";")) {
                    continue;
                }
                String rest = line.substring(line.indexOf(';') + 1).trim();
                String[] parts = rest.split(" ", 3);
                if (parts.length == 3) {
                    entries.add(new TocEntry(line, Long.parseLong(line.substring(0, line.indexOf(';')).trim()), Long.parseLong(parts[1]), parts[2],
                            new ArrayList<>()));
                }
            }
            return entries;
        }

        /** A pg_restore -L list of the archive's entries that {@code keep} accepts. */
        private Path tocList(Path archive, Predicate<TocEntry> keep, String name) throws IOException {
            StringBuilder out = new StringBuilder();
            for (TocEntry e : toc(archive)) {
                if (keep.test(e)) {
                    out.append(e.line()).append('\n');
                }
            }
            Path list = work.resolve(name + "-" + archive.getFileName() + ".list");
            Files.writeString(list, out.toString());
            return list;
        }

        /** pg_restore's arguments that choose what of {@code archive} it restores: {@code section} and {@code list} (null: all), without owners or privileges if asked. */
        private List<String> selection(Path archive, String section, Path list) {
            List<String> args = new ArrayList<>();
            if (section != null) {
                args.add("--section=" + section);
            }
            if (list != null) {
                args.add("--use-list=" + list);
            }
            if (req.noOwner()) {
                args.add("--no-owner");
            }
            if (req.noPrivileges()) {
                args.add("--no-privileges");
            }
            args.add(archive.toString());
            return args;
        }

        private void pgRestore(ConnectionSettings target, Path archive, String section, Path list) throws IOException {
            List<String> args = new ArrayList<>(List.of("--dbname=" + conninfo(target.dbname()), "--exit-on-error", "--no-password"));
            if (req.jobs() > 1) {
                args.add("--jobs=" + req.jobs());
            }
            args.addAll(selection(archive, section, list));
            // money as the archive's backup wrote it: under lc_monetary C, whatever the target's default (older backups: the target's)
            runPgRestore(args, target, "restore " + (section == null ? "" : section + " of ") + archive.getFileName(),
                    (archive.equals(fullDump) ? full : m).moneyInC());
        }

        /** What a failed step leaves, for its message: a whole database or a table into a new one is removed, a table into an existing one rolled back. */
        private static String leftState() {
            return "; the target was left as it was";
        }

        /**
         * pg_restore (or psql running its script) stopped at a role the server lacks (one that owns
         * objects in the backup, or that it grants privileges to): said by name, with the option that
         * leaves it out, instead of the program's last lines. Returns when that is not why it stopped.
         */
        private void missingRole(String stderr, String what) {
            java.util.regex.Matcher role = java.util.regex.Pattern.compile("ERROR: +role \"(.*)\" does not exist").matcher(stderr);
            if (!role.find()) {
                return;
            }
            // pg_restore echoes the statement as "Command was: ...", psql --echo-errors as "STATEMENT:  ..."
            java.util.regex.Matcher echoed = java.util.regex.Pattern.compile("(Command was: |STATEMENT: +)").matcher(stderr);
            String command = echoed.find(role.end()) ? stderr.substring(echoed.end()).strip().toUpperCase(java.util.Locale.ROOT) : "";
            boolean privilege = command.startsWith("GRANT ") || command.startsWith("REVOKE ");
            boolean owner = command.contains(" OWNER TO ");
            String how = privilege ? "which backup " + m.id() + " grants privileges to" : owner ? "which owns objects in backup " + m.id()
                    : "which backup " + m.id() + " names";
            String option = privilege ? "--no-privileges" : owner ? "--no-owner" : "--no-owner and --no-privileges";
            throw new PgstrataException(ErrorCode.NOT_FOUND, "pg_restore could not " + what + ": role " + role.group(1) + ", " + how
                    + ", does not exist on " + req.connection().server() + leftState(),
                    "create the role first, or add " + option + " to restore without " + (privilege ? "its privileges" : owner ? "owners" : "them"));
        }

        /** Runs pg_restore; returns what it printed on standard output. */
        private String runPgRestore(List<String> args, ConnectionSettings target, String what, boolean moneyInC) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(pgRestore.program().toString());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (target != null) {
                PgClient.connectTo(pb.environment(), target);
                PgClient.withSettings(pb.environment(), PgClient.WRITABLE, PgClient.ARRAY_NULLS);
            }
            if (moneyInC) {
                PgClient.withSettings(pb.environment(), PgClient.MONEY_IN_C);
            }
            Path out = Files.createTempFile(work, "pg_restore-", ".out");
            Path err = Files.createTempFile(work, "pg_restore-", ".err");
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = org.pgstrata.api.ChildProcesses.start(pb);
            try {
                if (!p.waitFor(24, TimeUnit.HOURS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new PgstrataException(ErrorCode.INTERNAL, "interrupted while pg_restore ran", null);
            }
            PgClient.Warnings warnings = new PgClient.Warnings(progress::warn);
            new String(Files.readAllBytes(err), java.nio.charset.StandardCharsets.UTF_8).lines().forEach(warnings::line);
            if (p.exitValue() != 0) {
                missingRole(Files.readString(err), what);
                String first = firstError(err);
                throw new PgstrataException(ErrorCode.DUMP_FAILED, "pg_restore failed to " + what + " (exit " + p.exitValue() + "): " + first
                        + leftState(), hintFor(first));
            }
            return Files.readString(out);
        }

        /**
         * What to do after pg_restore or psql stopped at {@code firstError}: one table restored alone
         * needs the rest of its definition's world in the target (a parent it inherits from, a type, a
         * collation, a function its defaults or checks call), which "does not exist" there.
         */
        private String hintFor(String firstError) {
            if (only == null || !firstError.contains(" does not exist")) {
                return "see the message above";
            }
            return "the table's definition uses what the " + (req.create() ? "new database " : "database ") + req.toDb() + " lacks (a parent"
                    + " table, a type, a collation or a function of the backup's database): " + (req.create() ? "restore into an existing"
                    + " database that has it (without --create)" : "create it there first") + ", or restore the whole database (without --table)";
        }
    }

    /**
     * What pg_restore said went wrong: its first error line (the server's ERROR, not the tail of
     * the statement it echoes after it), else its last lines.
     */
    private static String firstError(Path err) {
        try {
            for (String line : Files.readAllLines(err)) {
                if (line.contains("ERROR:") || line.startsWith("pg_restore: error:")) {
                    return line.strip();
                }
            }
        } catch (IOException e) {
            // said below
        }
        return PgClient.lastLines(err, 3);
    }

    /**
     * One line of pg_restore --list: the oid of the object it is about (a table's for its TABLE
     * DATA; 0 for none) and its description: type, schema, name, owner.
     */
    private record TocEntry(String line, long dumpId, long oid, String desc, List<Long> dependsOn) {
    }

    /** The settings whose value is a list that pg_dump writes as one literal per element (its variable_is_guc_list_quote). */
    private static final java.util.Set<String> LIST_SETTINGS = java.util.Set.of("local_preload_libraries", "search_path",
            "session_preload_libraries", "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories");

    /**
     * The elements of a list setting as pg_db_role_setting holds it ({@code "$user", public}):
     * separated by commas, each bare or in double quotes (a doubled quote is one); what does not
     * parse is one element, as it stands.
     */
    static List<String> gucList(String value) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = value.length();
        while (i < n && Character.isWhitespace(value.charAt(i))) {
            i++;
        }
        if (i == n) {
            return out;
        }
        while (true) {
            StringBuilder e = new StringBuilder();
            if (value.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) {
                        return List.of(value);
                    }
                    char ch = value.charAt(i++);
                    if (ch == '"') {
                        if (i < n && value.charAt(i) == '"') {
                            e.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        e.append(ch);
                    }
                }
            } else {
                while (i < n && value.charAt(i) != ',' && !Character.isWhitespace(value.charAt(i))) {
                    e.append(value.charAt(i++));
                }
                if (e.length() == 0) {
                    return List.of(value);
                }
            }
            out.add(e.toString());
            while (i < n && Character.isWhitespace(value.charAt(i))) {
                i++;
            }
            if (i == n) {
                return out;
            }
            if (value.charAt(i) != ',') {
                return List.of(value);
            }
            i++;
            while (i < n && Character.isWhitespace(value.charAt(i))) {
                i++;
            }
        }
    }

    /** The oids in a file of one oid a line. */
    private static List<Long> oids(Path file) throws IOException {
        List<Long> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, java.nio.charset.StandardCharsets.US_ASCII)) {
            if (!line.isBlank()) {
                out.add(Long.parseLong(line.trim()));
            }
        }
        return out;
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
