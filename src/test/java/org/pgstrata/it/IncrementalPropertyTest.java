package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import java.util.Random;
import java.util.Map;
import java.util.stream.Collectors;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.ContentChecksum;

/**
 * Random sequences of writes, DDL, maintenance and backups of random type (full, incremental,
 * differential, reverse delta) on one real PostgreSQL server; afterwards {@code verify} must find
 * the repository sound, and every backup of the sequence is restored (chosen by steps back from
 * the newest, as {@code restore --steps-back} does) and must hold exactly the content the source
 * had when it was taken, in every database, with nothing for amcheck to find (DESIGN.md, "The
 * proof of a restore").
 *
 * <p>The actions: inserts (some of rows that go to TOAST), updates and deletes of id ranges on
 * tables with a primary key and an identity column; CREATE TABLE, DROP TABLE, TRUNCATE; VACUUM,
 * VACUUM (FREEZE), VACUUM FULL; CREATE INDEX (btree, expression, hash, BRIN, SP-GiST on text and
 * on points, GiST on points, GIN on a tsvector), which later writes then change; moving a table
 * to another tablespace and back; CREATE DATABASE (FILE_COPY or WAL_LOG, from template1 or from
 * postgres, perhaps in the other tablespace, perhaps at an OID a dropped database had) with a
 * table, DROP DATABASE; CHECKPOINT; data checksums turned off or on with pg_checksums while the
 * server is stopped (where a pg_checksums of the server's major is installed; an incremental,
 * differential or reverse backup on a cluster without checksums must be refused, and is); and
 * backups, the first of which the engine turns into a full, some of them taken while writers
 * change rows.
 *
 * <p>Writers during a backup: three threads, each on its own rows of one table, each transaction
 * one insert, update or delete plus a count in a log table, until the backup returns. The
 * source's content at the backup's point is not known then, so the proof of such a backup is in
 * two parts: everything else must equal the content taken before the backup, exactly; and the
 * writers' rows must be exactly what the first k transactions of each thread make of the rows
 * before, where k is the thread's count in the restored log table, at least the transactions
 * committed before the backup started and at most those committed before the writers stopped.
 *
 * <p>One server serves the whole property; each try starts from the same small state (the
 * databases and tables of the previous try are dropped, checksums are on again) with a new
 * repository, so a try, and every shortened version of a failing one, is one self-contained
 * story: the failing action list and its seed are printed with the failure. Autovacuum is off on
 * the source so that a sequence replays the same way (writers aside). Sequences come from a
 * seeded {@link Random}: a plain generator rather than a property-testing library, whose author
 * asks that it not be used by AI agents.
 *
 * <p>The default run is short, for CI. To run longer by hand:
 * <pre>
 * mvn -B -Dtest=IncrementalPropertyTest -Dpgstrata.property.tries=50 -Dpgstrata.property.actions=30 verify
 * </pre>
 * {@code pgstrata.property.tries} is the number of tries (default 3) and
 * {@code pgstrata.property.actions} the most actions per try before its last backup (default 10);
 * surefire hands {@code -D} properties to the test JVM. 50 tries of 30 actions take about a quarter
 * of an hour on two cores.
 * {@code -Dpgstrata.property.seed=SEED} replays the seed a failure names (with the same major and
 * the same pg_checksums present: both decide which actions a seed makes). A failing sequence is
 * shortened by dropping one action at a time while it still fails, for at most
 * {@code pgstrata.property.shrink.seconds} (default 120).
 * {@code -Dpgstrata.property.major=N} runs the server of PostgreSQL N (15 to 18; default 15, the
 * major of Debian 12's pg_checksums, which CI installs and which this major then requires); with a
 * major that has no pg_checksums installed, the checksum actions are left out, and the test says
 * so on standard output.
 */
class IncrementalPropertyTest {
    private static final int MAJOR = Integer.getInteger("pgstrata.property.major", 15);
    /** The writers' table and their per-thread transaction counts, in postgres. */
    private static final String WRITERS_TABLE = "w";
    private static final String WRITERS_LOG = "wlog";
    /** OIDs a database may be made at, so that one made later lies where a dropped one did. */
    private static final List<Long> DATABASE_OIDS = List.of(40_001L, 40_002L);
    private static final int ACTIONS = Integer.getInteger("pgstrata.property.actions", 10);
    private static final List<String> DATABASES = List.of("postgres", "d1", "d2");
    private static final List<String> TABLES = List.of("a", "b", "c");
    /** A tablespace outside the data directory (a restore puts it inside, under pg_tblspc). */
    private static final String TABLESPACE = "elsewhere";

    private static Path root;
    private static PgSupport pg;
    private static LocalCluster source;
    private static int counter;
    /** pg_checksums of the server's major, or null: then the checksum actions are left out. */
    private static Path pgChecksums;

    @BeforeAll
    static void startSource() throws Exception {
        pgChecksums = findPgChecksums(MAJOR);
        if (pgChecksums == null && MAJOR == 15) {
            throw new IllegalStateException("no pg_checksums of PostgreSQL 15 (Debian: apt-get install postgresql-15, as .ci/run does); "
                    + "the default major's property includes turning data checksums off and on");
        }
        if (pgChecksums == null) {
            System.out.println("IncrementalPropertyTest: no pg_checksums of PostgreSQL " + MAJOR + " here, so no action turns checksums off or on");
        }
        root = Files.createTempDirectory("pgstrata-incremental-property");
        pg = new PgSupport(root);
        source = pg.start("source", MAJOR);
        Path tablespace = Files.createDirectory(root.resolve("tablespace"));
        // An action list must replay the same way when it is run again shortened.
        PgSupport.sql(source, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLESPACE " + TABLESPACE + " LOCATION '" + tablespace + "'");
    }

    @AfterAll
    static void stopSource() throws IOException {
        if (pg != null) {
            pg.close();
        }
        if (root != null) {
            PgSupport.deleteTree(root);
        }
    }

    @Test
    void everyBackupOfASequence_restoresToTheContentItWasTakenAt() {
        int tries = Integer.getInteger("pgstrata.property.tries", 3);
        String given = System.getProperty("pgstrata.property.seed");
        long seed = given == null || given.isBlank() ? new Random().nextLong() : Long.parseLong(given.trim());
        for (int t = 0; t < tries; t++) {
            long trySeed = seed + t;
            List<Action> actions = sequence(new Random(trySeed));
            System.out.println("try " + (t + 1) + " (seed " + trySeed + "): " + actions);
            Throwable failure = attempt(actions);
            if (failure != null) {
                Shrunk shrunk = shrink(actions, failure);
                throw new AssertionError("sequence " + shrunk.actions() + " (shortened from " + actions.size() + " actions) failed: "
                        + shrunk.failure() + "; try " + (t + 1) + " of seed " + seed + " (replay with -Dpgstrata.property.seed=" + trySeed
                        + ")", shrunk.failure());
            }
        }
    }

    private record Shrunk(List<Action> actions, Throwable failure) {
    }

    private static Throwable attempt(List<Action> actions) {
        try {
            run(actions);
            return null;
        } catch (Exception | AssertionError e) {
            return e;
        }
    }

    /** Drops one action at a time (never the last backup) while the sequence still fails, within a time bound. */
    private static Shrunk shrink(List<Action> actions, Throwable failure) {
        long deadline = System.nanoTime() + Long.getLong("pgstrata.property.shrink.seconds", 120L) * 1_000_000_000L;
        List<Action> current = actions;
        Throwable why = failure;
        for (int i = current.size() - 2; i >= 0 && System.nanoTime() < deadline; i--) {
            List<Action> shorter = new ArrayList<>(current);
            shorter.remove(i);
            Throwable again = attempt(shorter);
            if (again != null) {
                current = List.copyOf(shorter);
                why = again;
            }
        }
        return new Shrunk(current, why);
    }

    private static void run(List<Action> actions) throws Exception {
        resetSource();
        Path repo = Files.createDirectory(root.resolve("repo-" + ++counter));
        List<Taken> taken = new ArrayList<>();
        try {
            for (int i = 0; i < actions.size(); i++) {
                Action a = actions.get(i);
                if (a instanceof Backup b) {
                    backup(repo, b, i + 1, taken);
                } else {
                    a.apply(source);
                }
            }
            VerifyResult verified = PgSupport.facade().verify(repo.toString(), null);
            assertThat(verified.problems()).as("verify of the repository").isEmpty();
            assertThat(verified.backups()).as("backups verify found").isEqualTo(taken.size());
            for (int k = 0; k < taken.size(); k++) {
                checkRestore(repo, taken.get(k), k + 1, taken);
            }
        } finally {
            PgSupport.deleteTree(repo);
        }
    }

    /**
     * Takes the backup action {@code b} (action number {@code action}): refused when it needs data
     * checksums and the cluster has none; otherwise taken, with writers if it says so, and
     * remembered with the content it must restore.
     */
    private static void backup(Path repo, Backup b, int action, List<Taken> taken) throws Exception {
        BackupRequest req = new BackupRequest(repo.toString(), source.pgdata(), PgSupport.conn(source), b.type(), Compression.ZSTD, 2, 0);
        // With a backup in the repository, there is a full to build on: only a full may then go without checksums.
        if (!taken.isEmpty() && b.type() != BackupType.FULL && !checksumsOn(source)) {
            assertThatThrownBy(() -> PgSupport.facade().backup(req)).as("a %s backup without data checksums, at action %d", b.type().label(), action)
                    .isInstanceOf(PgstrataException.class).extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.SERVER_SETTING);
            return;
        }
        Map<String, ContentChecksum.Result> before = b.underWrites() ? ClusterContent.of(source) : null;
        Writers writers = b.underWrites() ? Writers.start(source, 31L * action + taken.size()) : null;
        BackupResult r;
        try {
            if (writers != null) {
                writers.backupStarts();
            }
            r = PgSupport.facade().backup(req);
        } finally {
            if (writers != null) {
                writers.stop();
            }
        }
        // The first backup of a repository has nothing to build on: the engine takes a full instead. A reverse backup is a full.
        String expectedType = taken.isEmpty() || b.type() == BackupType.REVERSE ? "full" : b.type().label();
        assertThat(r.type()).as("type of backup %s, taken for action %d (%s)", r.id(), action, b).isEqualTo(expectedType);
        taken.add(new Taken(action, b.type(), r, writers == null ? ClusterContent.of(source) : before, writers));
    }

    /**
     * A backup of the sequence, with the content the source had when it was taken (with writers:
     * before it began, the writers' tables aside) and the writers that ran during it, or null.
     */
    record Taken(int action, BackupType asked, BackupResult result, Map<String, ContentChecksum.Result> proof, Writers writers) {
        String describe() {
            return result.id() + " (" + asked.label() + (result.reference() == null ? "" : " on " + result.reference())
                    + (writers == null ? "" : ", under writes") + ", taken at action " + action + ")";
        }
    }

    private static void checkRestore(Path repo, Taken t, int n, List<Taken> all) throws Exception {
        Path target = root.resolve("restore-" + ++counter);
        String what = "backup " + n + " of " + all.size() + ": " + t.describe() + "; the backups: "
                + all.stream().map(Taken::describe).collect(Collectors.joining(", "));
        // As restore --steps-back chooses: the newest is 0 steps back.
        String id = PgSupport.facade().backupStepsBack(repo.toString(), all.size() - n);
        assertThat(id).as("the backup %d steps back", all.size() - n).isEqualTo(t.result().id());
        LocalCluster restored = new LocalCluster(target, PgBinaries.resolve(null, MAJOR, PgSupport.env()));
        try {
            RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), target, id, true,
                    LocalCluster.freePort(), null, 2));
            assertThat(r.target()).isEqualTo(target);
            Map<String, ContentChecksum.Result> content = ClusterContent.of(restored);
            if (t.writers() == null) {
                assertThat(content).as("content of the restore of %s", what).isEqualTo(t.proof());
            } else {
                assertThat(withoutWriters(content)).as("content of the restore of %s, the writers' tables aside", what)
                        .isEqualTo(withoutWriters(t.proof()));
                assertThat(t.writers().problems(restored)).as("the writers' rows in the restore of %s", what).isEmpty();
            }
            assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restore of %s", what).isEmpty();
        } finally {
            restored.stopImmediately();
            PgSupport.deleteTree(target);
        }
    }

    /** Each database's tables with their row counts and hashes, without the writers' two tables. */
    private static Map<String, List<ContentChecksum.TableSum>> withoutWriters(Map<String, ContentChecksum.Result> content) {
        Map<String, List<ContentChecksum.TableSum>> out = new java.util.TreeMap<>();
        content.forEach((db, r) -> out.put(db, r.tables().stream()
                .filter(t -> !(db.equals("postgres") && (t.table().equals("public." + WRITERS_TABLE) || t.table().equals("public." + WRITERS_LOG))))
                .toList()));
        return out;
    }

    /**
     * The same starting point for every try: data checksums on, two tables in postgres (one of
     * them with TOASTed rows), the writers' empty tables, and nothing else.
     */
    private static void resetSource() throws Exception {
        new Checksums(true).apply(source);
        try (Connection c = PgSupport.connect(source)) {
            for (String db : DATABASES.subList(1, DATABASES.size())) {
                Db.execute(c, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
            }
            Db.execute(c, "DROP SCHEMA public CASCADE");
            Db.execute(c, "CREATE SCHEMA public");
            Db.execute(c, "CREATE TABLE " + WRITERS_TABLE + " (id int PRIMARY KEY, thread int NOT NULL, v text NOT NULL)");
            Db.execute(c, "CREATE TABLE " + WRITERS_LOG + " (thread int PRIMARY KEY, n int NOT NULL)");
            Db.execute(c, "INSERT INTO " + WRITERS_LOG + " SELECT g, 0 FROM generate_series(0, " + (Writers.THREADS - 1) + ") g");
        }
        new CreateTable("postgres", "a", 10_000, false).apply(source);
        new CreateTable("postgres", "b", 300, true).apply(source);
    }

    // ---- the actions ----

    /** One step of a sequence; its toString is what a failure report shows. */
    sealed interface Action permits Backup, Insert, Update, Delete, CreateTable, DropTable, Truncate, Vacuum, VacuumFull,
            CreateIndex, SetTablespace, CreateDatabase, DropDatabase, Checkpoint, Checksums {
        default void apply(LocalCluster c) throws Exception {
            throw new UnsupportedOperationException(toString());
        }
    }

    record Backup(BackupType type, boolean underWrites) implements Action {
        @Override
        public String toString() {
            return "backup " + type.label() + (underWrites ? " under writes" : "");
        }
    }

    record Insert(String db, String table, int rows, boolean wide) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "INSERT INTO " + table + " (id, n, v) SELECT m + g, (m + g) % 1000, " + value("m + g", wide)
                    + " FROM (SELECT coalesce(max(id), 0) AS m FROM " + table + ") x, generate_series(1, " + rows + ") g");
        }

        @Override
        public String toString() {
            return "insert " + rows + (wide ? " wide" : "") + " rows into " + db + "." + table;
        }
    }

    record Update(String db, String table, int from, int count) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "UPDATE " + table + " SET n = n + 1, v = reverse(v) WHERE id >= " + from + " AND id < " + (from + count));
        }

        @Override
        public String toString() {
            return "update ids [" + from + ", " + (from + count) + ") of " + db + "." + table;
        }
    }

    record Delete(String db, String table, int from, int count) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "DELETE FROM " + table + " WHERE id >= " + from + " AND id < " + (from + count));
        }

        @Override
        public String toString() {
            return "delete ids [" + from + ", " + (from + count) + ") of " + db + "." + table;
        }
    }

    record CreateTable(String db, String table, int rows, boolean wide) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inDatabase(c, db, "DROP TABLE IF EXISTS " + table, tableDefinition(table),
                    "INSERT INTO " + table + " (id, n, v) SELECT g, g % 1000, " + value("g", wide) + " FROM generate_series(1, " + rows + ") g");
        }

        @Override
        public String toString() {
            return "create table " + db + "." + table + " with " + rows + (wide ? " wide" : "") + " rows";
        }
    }

    record DropTable(String db, String table) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inDatabase(c, db, "DROP TABLE IF EXISTS " + table);
        }

        @Override
        public String toString() {
            return "drop table " + db + "." + table;
        }
    }

    record Truncate(String db, String table) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "TRUNCATE " + table);
        }

        @Override
        public String toString() {
            return "truncate " + db + "." + table;
        }
    }

    record Vacuum(String db, String table, boolean freeze) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "VACUUM " + (freeze ? "(FREEZE) " : "") + table);
        }

        @Override
        public String toString() {
            return "vacuum " + (freeze ? "(freeze) " : "") + db + "." + table;
        }
    }

    record VacuumFull(String db, String table) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "VACUUM FULL " + table);
        }

        @Override
        public String toString() {
            return "vacuum full " + db + "." + table;
        }
    }

    enum IndexKind {
        BTREE("(n)"), BTREE_EXPRESSION("(left(v, 32))"), HASH("USING hash (v)"), BRIN("USING brin (id)"), SPGIST_TEXT("USING spgist (v)"),
        SPGIST_POINT("USING spgist (point(n, id))"), GIST_POINT("USING gist (point(n, id))"), GIN("USING gin (to_tsvector('simple', v))");

        final String definition;

        IndexKind(String definition) {
            this.definition = definition;
        }
    }

    record CreateIndex(String db, String table, IndexKind kind) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "CREATE INDEX ON " + table + " " + kind.definition);
        }

        @Override
        public String toString() {
            return "create index on " + db + "." + table + " " + kind.definition;
        }
    }

    /** Moves a table (with its TOAST table, not its indexes) to the other tablespace, or back. */
    record SetTablespace(String db, String table, boolean away) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            inTable(c, db, table, "ALTER TABLE " + table + " SET TABLESPACE " + (away ? TABLESPACE : "pg_default"));
        }

        @Override
        public String toString() {
            return "move " + db + "." + table + " to " + (away ? TABLESPACE : "pg_default");
        }
    }

    /**
     * (Re)creates a database with either strategy from template1 or from postgres (whose catalog
     * and tables differ from template1's), perhaps in the other tablespace, perhaps at one of
     * {@link #DATABASE_OIDS} (when no other database has it), and writes a table in it.
     */
    record CreateDatabase(String db, boolean fileCopy, boolean fromPostgres, boolean away, Long oid, int rows) implements Action {
        @Override
        public void apply(LocalCluster c) throws Exception {
            // From template1's connection: postgres as a template must have no session.
            boolean fromPostgresHere = fromPostgres;
            if (away && fromPostgres) {
                // PostgreSQL refuses a template with files of its own in the new database's tablespace: a table moved there
                // (then from template1 instead), or one dropped there, whose emptied file stays until the next checkpoint.
                PgSupport.sql(c, "CHECKPOINT");
                try (Connection conn = Db.connect(PgSupport.conn(c))) {
                    fromPostgresHere = Db.queryString(conn, "SELECT 1 FROM pg_class WHERE reltablespace = "
                            + "(SELECT oid FROM pg_tablespace WHERE spcname = '" + TABLESPACE + "') LIMIT 1") == null;
                }
            }
            try (Connection conn = Db.connect(PgSupport.conn(c).withDbname("template1"))) {
                Db.execute(conn, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
                boolean oidFree = oid != null && Db.queryString(conn, "SELECT 1 FROM pg_database WHERE oid = " + oid) == null;
                Db.execute(conn, "CREATE DATABASE " + db + (oidFree ? " OID " + oid : "") + " STRATEGY " + (fileCopy ? "FILE_COPY" : "WAL_LOG")
                        + " TEMPLATE " + (fromPostgresHere ? "postgres" : "template1") + (away ? " TABLESPACE " + TABLESPACE : ""));
            }
            new CreateTable(db, "a", rows, false).apply(c);
        }

        @Override
        public String toString() {
            return "create database " + db + " (" + (fileCopy ? "file_copy" : "wal_log") + " from " + (fromPostgres ? "postgres" : "template1")
                    + (away ? ", in " + TABLESPACE : "") + (oid == null ? "" : ", at OID " + oid + " if free") + ") with table a of " + rows + " rows";
        }
    }

    record DropDatabase(String db) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            PgSupport.sql(c, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        }

        @Override
        public String toString() {
            return "drop database " + db;
        }
    }

    record Checkpoint() implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            PgSupport.sql(c, "CHECKPOINT");
        }

        @Override
        public String toString() {
            return "checkpoint";
        }
    }

    /** pg_checksums --enable or --disable with the server stopped (fast), then started again; nothing when already so. */
    record Checksums(boolean enable) implements Action {
        @Override
        public void apply(LocalCluster c) throws Exception {
            if (checksumsOn(c) == enable) {
                return;
            }
            c.stop();
            List<String> cmd = List.of(pgChecksums.toString(), enable ? "--enable" : "--disable", "-D", c.pgdata().toString());
            LocalCluster.ProcessResult r = LocalCluster.ProcessResult.run(cmd, 600);
            c.start();
            assertThat(r.exitCode()).as("%s: %s", String.join(" ", cmd), r.output()).isZero();
        }

        @Override
        public String toString() {
            return "pg_checksums --" + (enable ? "enable" : "disable") + " (server stopped)";
        }
    }

    static boolean checksumsOn(LocalCluster c) throws SQLException {
        return "on".equals(PgSupport.queryString(c, "SHOW data_checksums"));
    }

    /** The pg_checksums of PostgreSQL {@code major} that Debian and the PGDG packages install, or null. */
    private static Path findPgChecksums(int major) {
        for (Path p : List.of(Path.of("/usr/lib/postgresql/" + major + "/bin/pg_checksums"), Path.of("/usr/pgsql-" + major + "/bin/pg_checksums"))) {
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static String tableDefinition(String table) {
        // s takes its values from a sequence, whose page changes without a WAL record on most nextval calls.
        return "CREATE TABLE IF NOT EXISTS " + table + " (id int PRIMARY KEY, n int NOT NULL, v text NOT NULL, "
                + "s bigint GENERATED BY DEFAULT AS IDENTITY)";
    }

    /** About 100 bytes a row; a wide row holds 2.5 kB of hex that does not compress, so it goes to TOAST. */
    private static String value(String id, boolean wide) {
        return wide ? "(SELECT string_agg(md5((" + id + ") || '.' || i), '') FROM generate_series(1, 80) i)" : "repeat(md5((" + id + ")::text), 3)";
    }

    /** Runs statements (one at a time: VACUUM refuses a transaction block) in {@code db}, creating the database first if needed. */
    private static void inDatabase(LocalCluster c, String db, String... statements) throws SQLException {
        try (Connection conn = PgSupport.connect(c)) {
            if (Db.queryString(conn, "SELECT 1 FROM pg_database WHERE datname = '" + db + "'") == null) {
                Db.execute(conn, "CREATE DATABASE " + db);
            }
        }
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db))) {
            for (String s : statements) {
                Db.execute(conn, s);
            }
        }
    }

    /** Like {@link #inDatabase}, creating the (empty) table first if needed, so that every sequence is valid. */
    private static void inTable(LocalCluster c, String db, String table, String... statements) throws SQLException {
        String[] all = new String[statements.length + 1];
        all[0] = tableDefinition(table);
        System.arraycopy(statements, 0, all, 1, statements.length);
        inDatabase(c, db, all);
    }

    // ---- generation ----

    private static <T> T pick(Random r, List<T> items) {
        return items.get(r.nextInt(items.size()));
    }

    private static BackupType backupType(Random r) {
        int n = r.nextInt(6);
        return n < 2 ? BackupType.INCR : n < 4 ? BackupType.DIFF : n < 5 ? BackupType.FULL : BackupType.REVERSE;
    }

    private static Backup backupAction(Random r) {
        return new Backup(backupType(r), r.nextInt(3) == 0);
    }

    /** One random action, with the weights of the kinds of change in the class comment. */
    private static Action action(Random r) {
        String db = switch (r.nextInt(6)) {
            case 0 -> "d1";
            case 1 -> "d2";
            default -> "postgres";
        };
        String table = pick(r, TABLES);
        int rows = 1 + r.nextInt(3000);
        int from = 1 + r.nextInt(12_000);
        boolean wide = r.nextInt(5) == 0;
        String otherDb = r.nextBoolean() ? "d1" : "d2";
        int[] weights = {7, 3, 3, 3, 1, 1, 1, 2, 1, 2, 1, 2, 1, 1, pgChecksums == null ? 0 : 1};
        int roll = r.nextInt(java.util.Arrays.stream(weights).sum());
        int kind = 0;
        while (roll >= weights[kind]) {
            roll -= weights[kind++];
        }
        return switch (kind) {
            case 0 -> backupAction(r);
            case 1 -> new Insert(db, table, rows, wide);
            case 2 -> new Update(db, table, from, rows);
            case 3 -> new Delete(db, table, from, rows);
            case 4 -> new CreateTable(db, table, r.nextInt(6001), wide);
            case 5 -> new DropTable(db, table);
            case 6 -> new Truncate(db, table);
            case 7 -> new Vacuum(db, table, r.nextBoolean());
            case 8 -> new VacuumFull(db, table);
            case 9 -> new CreateIndex(db, table, pick(r, List.of(IndexKind.values())));
            case 10 -> new SetTablespace(db, table, r.nextBoolean());
            case 11 -> new CreateDatabase(otherDb, r.nextBoolean(), r.nextBoolean(), r.nextInt(4) == 0,
                    r.nextInt(3) == 0 ? null : pick(r, DATABASE_OIDS), rows);
            case 12 -> new DropDatabase(otherDb);
            case 13 -> new Checkpoint();
            default -> new Checksums(r.nextBoolean());
        };
    }

    // ---- writers during a backup ----

    /**
     * Threads that change rows while a backup runs: each thread owns {@link #RANGE} ids of the
     * writers' table, and each of its transactions inserts, updates or deletes one of them and
     * counts itself in the writers' log. What they committed, in order, is remembered, so that a
     * restore can be checked against the prefix of each thread's transactions that it holds.
     */
    static final class Writers {
        static final int THREADS = 3;
        static final int RANGE = 300;

        /** One committed transaction: the row it left ({@code v} null: deleted). */
        record Op(int id, String v) {
        }

        private final Map<Integer, String> rowsBefore = new java.util.HashMap<>();
        private final int[] countBefore = new int[THREADS];
        private final List<List<Op>> committed = new ArrayList<>();
        private final int[] committedAtStart = new int[THREADS];
        private final List<Thread> threads = new ArrayList<>();
        private final java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private volatile boolean stop;

        /** Reads the writers' rows and counts, then starts the threads and waits until each has committed once. */
        static Writers start(LocalCluster c, long seed) throws Exception {
            Writers w = new Writers();
            try (Connection conn = PgSupport.connect(c); var st = conn.createStatement()) {
                try (var rs = st.executeQuery("SELECT id, v FROM " + WRITERS_TABLE)) {
                    while (rs.next()) {
                        w.rowsBefore.put(rs.getInt(1), rs.getString(2));
                    }
                }
                try (var rs = st.executeQuery("SELECT thread, n FROM " + WRITERS_LOG)) {
                    while (rs.next()) {
                        w.countBefore[rs.getInt(1)] = rs.getInt(2);
                    }
                }
            }
            for (int t = 0; t < THREADS; t++) {
                List<Op> ops = java.util.Collections.synchronizedList(new ArrayList<>());
                w.committed.add(ops);
                int thread = t;
                Thread th = new Thread(() -> w.write(c, thread, new Random(seed * 7 + thread), ops), "property-writer-" + t);
                w.threads.add(th);
                th.start();
            }
            for (int i = 0; i < 600 && w.committed.stream().anyMatch(List::isEmpty) && w.errors.isEmpty(); i++) {
                Thread.sleep(10);
            }
            return w;
        }

        private static int firstId(int thread) {
            return 1_000_000 * (thread + 1);
        }

        private void write(LocalCluster c, int thread, Random r, List<Op> ops) {
            Map<Integer, String> rows = new java.util.HashMap<>();
            rowsBefore.forEach((id, v) -> {
                if (id >= firstId(thread) && id < firstId(thread) + RANGE) {
                    rows.put(id, v);
                }
            });
            try (Connection conn = PgSupport.connect(c)) {
                conn.setAutoCommit(false);
                for (int j = 0; !stop; j++) {
                    int id = firstId(thread) + r.nextInt(RANGE);
                    String v = ("thread " + thread + " transaction " + j + " ").repeat(12);
                    String sql;
                    if (!rows.containsKey(id)) {
                        sql = "INSERT INTO " + WRITERS_TABLE + " VALUES (?, " + thread + ", ?)";
                    } else if (r.nextBoolean()) {
                        sql = "UPDATE " + WRITERS_TABLE + " SET v = ? WHERE id = ?";
                    } else {
                        sql = "DELETE FROM " + WRITERS_TABLE + " WHERE id = ?";
                        v = null;
                    }
                    try (var ps = conn.prepareStatement(sql)) {
                        if (sql.startsWith("INSERT")) {
                            ps.setInt(1, id);
                            ps.setString(2, v);
                        } else if (sql.startsWith("UPDATE")) {
                            ps.setString(1, v);
                            ps.setInt(2, id);
                        } else {
                            ps.setInt(1, id);
                        }
                        ps.executeUpdate();
                    }
                    Db.execute(conn, "UPDATE " + WRITERS_LOG + " SET n = n + 1 WHERE thread = " + thread);
                    conn.commit();
                    if (v == null) {
                        rows.remove(id);
                    } else {
                        rows.put(id, v);
                    }
                    ops.add(new Op(id, v));
                }
            } catch (Exception | AssertionError e) {
                errors.add(e);
            }
        }

        /** Called just before the backup starts: what each thread committed so far must be in its restore. */
        void backupStarts() {
            for (int t = 0; t < THREADS; t++) {
                committedAtStart[t] = committed.get(t).size();
            }
        }

        void stop() throws Exception {
            stop = true;
            for (Thread t : threads) {
                t.join(60_000);
            }
            if (!errors.isEmpty()) {
                throw new AssertionError("a writer failed: " + errors.peek(), errors.peek());
            }
        }

        /**
         * How the writers' rows in {@code restored} differ from what the first k transactions of
         * each thread make of the rows before, k read from the restored log and bounded by what
         * was committed before the backup started and before the writers stopped; empty if not at all.
         */
        List<String> problems(LocalCluster restored) throws SQLException {
            List<String> problems = new ArrayList<>();
            Map<Integer, String> rows = new java.util.TreeMap<>();
            int[] count = new int[THREADS];
            try (Connection conn = PgSupport.connect(restored); var st = conn.createStatement()) {
                try (var rs = st.executeQuery("SELECT id, v FROM " + WRITERS_TABLE)) {
                    while (rs.next()) {
                        rows.put(rs.getInt(1), rs.getString(2));
                    }
                }
                try (var rs = st.executeQuery("SELECT thread, n FROM " + WRITERS_LOG)) {
                    while (rs.next()) {
                        count[rs.getInt(1)] = rs.getInt(2);
                    }
                }
            }
            Map<Integer, String> expected = new java.util.TreeMap<>(rowsBefore);
            for (int t = 0; t < THREADS; t++) {
                int k = count[t] - countBefore[t];
                List<Op> ops = committed.get(t);
                if (k < committedAtStart[t] || k > ops.size()) {
                    problems.add("writer " + t + ": the restore holds " + k + " of its transactions, but " + committedAtStart[t]
                            + " had committed before the backup started and " + ops.size() + " before the writers stopped");
                    continue;
                }
                for (Op op : ops.subList(0, k)) {
                    if (op.v() == null) {
                        expected.remove(op.id());
                    } else {
                        expected.put(op.id(), op.v());
                    }
                }
            }
            if (problems.isEmpty() && !expected.equals(rows)) {
                java.util.Set<Integer> ids = new java.util.TreeSet<>(expected.keySet());
                ids.addAll(rows.keySet());
                ids.removeIf(id -> java.util.Objects.equals(expected.get(id), rows.get(id)));
                problems.add("rows that differ from the writers' first transactions " + java.util.Arrays.toString(count) + ": ids "
                        + ids.stream().limit(10).toList() + (ids.size() > 10 ? " and " + (ids.size() - 10) + " more" : ""));
            }
            return problems;
        }
    }

    /** 1 to {@code ACTIONS} random actions, then a backup, so that the last changes are checked too. */
    static List<Action> sequence(Random r) {
        List<Action> all = new ArrayList<>();
        int n = 1 + r.nextInt(ACTIONS);
        for (int i = 0; i < n; i++) {
            all.add(action(r));
        }
        all.add(backupAction(r));
        return List.copyOf(all);
    }
}
