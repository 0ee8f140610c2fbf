package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.ContentChecksum;

/**
 * Random sequences of writes, DDL, maintenance and backups of random type (full, incremental,
 * differential) on one real PostgreSQL 17 server; afterwards {@code verify} must find the
 * repository sound, and every backup of the sequence is restored and must hold exactly the
 * content the source had when it was taken, in every database, with nothing for amcheck to find
 * (DESIGN.md, "The proof of a restore").
 *
 * <p>The actions: inserts (some of rows that go to TOAST), updates and deletes of id ranges on
 * tables with a primary key and an identity column; CREATE TABLE, DROP TABLE, TRUNCATE; VACUUM,
 * VACUUM (FREEZE), VACUUM FULL; CREATE INDEX (btree, expression, hash, BRIN); moving a table to
 * another tablespace and back; CREATE DATABASE (either strategy, perhaps in the other tablespace)
 * with a table, DROP DATABASE; CHECKPOINT; and backups, the first of which the engine turns into
 * a full. An action on a table or database that does not exist creates it first, so every list,
 * and every shortened version of it, is valid.
 *
 * <p>One server serves the whole property; each try starts from the same small state (the
 * databases and tables of the previous try are dropped) with a new repository, so a try, and
 * every shortened version of a failing one, is one self-contained story: the failing action list
 * and its seed are printed with the failure. Autovacuum is off on the source so that a sequence
 * replays the same way. Sequences come from a seeded {@link Random}: a plain generator rather
 * than a property-testing library, whose author asks that it not be used by AI agents.
 *
 * <p>The default run is short, for CI. To run longer by hand:
 * <pre>
 * mvn -B -Dtest=IncrementalPropertyTest -Dpgstrata.property.tries=50 -Dpgstrata.property.actions=30 verify
 * </pre>
 * {@code pgstrata.property.tries} is the number of tries (default 3) and
 * {@code pgstrata.property.actions} the most actions per try before its last backup (default 10);
 * surefire hands {@code -D} properties to the test JVM. 50 tries of 30 actions take about a quarter
 * of an hour on two cores.
 * {@code -Dpgstrata.property.seed=SEED} replays the seed a failure names. A failing sequence is
 * shortened by dropping one action at a time while it still fails, for at most
 * {@code pgstrata.property.shrink.seconds} (default 120).
 */
class IncrementalPropertyTest {
    private static final int MAJOR = 17;
    private static final int ACTIONS = Integer.getInteger("pgstrata.property.actions", 10);
    private static final List<String> DATABASES = List.of("postgres", "d1", "d2");
    private static final List<String> TABLES = List.of("a", "b", "c");
    /** A tablespace outside the data directory (a restore puts it inside, under pg_tblspc). */
    private static final String TABLESPACE = "elsewhere";

    private static Path root;
    private static PgSupport pg;
    private static LocalCluster source;
    private static int counter;

    @BeforeAll
    static void startSource() throws Exception {
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
                    BackupResult r = PgSupport.facade().backup(new BackupRequest(repo.toString(), source.pgdata(), PgSupport.conn(source),
                            b.type(), Compression.ZSTD, 2, 0));
                    // The first backup of a repository has nothing to build on: the engine takes a full instead.
                    String expectedType = taken.isEmpty() ? "full" : b.type().label();
                    assertThat(r.type()).as("type of backup %s, taken for action %d (%s)", r.id(), i + 1, a).isEqualTo(expectedType);
                    taken.add(new Taken(i + 1, r, ClusterContent.of(source)));
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

    /** A backup of the sequence, with the content the source had when it was taken. */
    record Taken(int action, BackupResult result, Map<String, ContentChecksum.Result> proof) {
        String describe() {
            return result.id() + " (" + result.type() + (result.reference() == null ? "" : " on " + result.reference())
                    + ", taken at action " + action + ")";
        }
    }

    private static void checkRestore(Path repo, Taken t, int n, List<Taken> all) throws Exception {
        Path target = root.resolve("restore-" + ++counter);
        String what = "backup " + n + " of " + all.size() + ": " + t.describe() + "; the backups: "
                + all.stream().map(Taken::describe).collect(Collectors.joining(", "));
        LocalCluster restored = new LocalCluster(target, PgBinaries.resolve(null, MAJOR, PgSupport.env()));
        try {
            RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), target, t.result().id(), true,
                    LocalCluster.freePort(), null, 2));
            assertThat(r.target()).isEqualTo(target);
            assertThat(ClusterContent.of(restored)).as("content of the restore of %s", what).isEqualTo(t.proof());
            assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restore of %s", what).isEmpty();
        } finally {
            restored.stopImmediately();
            PgSupport.deleteTree(target);
        }
    }

    /** The same starting point for every try: two tables in postgres, one of them with TOASTed rows, and nothing else. */
    private static void resetSource() throws SQLException {
        try (Connection c = PgSupport.connect(source)) {
            for (String db : DATABASES.subList(1, DATABASES.size())) {
                Db.execute(c, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
            }
            Db.execute(c, "DROP SCHEMA public CASCADE");
            Db.execute(c, "CREATE SCHEMA public");
        }
        new CreateTable("postgres", "a", 10_000, false).apply(source);
        new CreateTable("postgres", "b", 300, true).apply(source);
    }

    // ---- the actions ----

    /** One step of a sequence; its toString is what a failure report shows. */
    sealed interface Action permits Backup, Insert, Update, Delete, CreateTable, DropTable, Truncate, Vacuum, VacuumFull,
            CreateIndex, SetTablespace, CreateDatabase, DropDatabase, Checkpoint {
        default void apply(LocalCluster c) throws SQLException {
            throw new UnsupportedOperationException(toString());
        }
    }

    record Backup(BackupType type) implements Action {
        @Override
        public String toString() {
            return "backup " + type.label();
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
        BTREE("(n)"), BTREE_EXPRESSION("(left(v, 32))"), HASH("USING hash (v)"), BRIN("USING brin (id)");

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

    /** (Re)creates a database with either strategy, perhaps in the other tablespace, and writes a table in it. */
    record CreateDatabase(String db, boolean fileCopy, boolean away, int rows) implements Action {
        @Override
        public void apply(LocalCluster c) throws SQLException {
            try (Connection conn = PgSupport.connect(c)) {
                Db.execute(conn, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
                Db.execute(conn, "CREATE DATABASE " + db + " STRATEGY " + (fileCopy ? "FILE_COPY" : "WAL_LOG")
                        + (away ? " TABLESPACE " + TABLESPACE : ""));
            }
            new CreateTable(db, "a", rows, false).apply(c);
        }

        @Override
        public String toString() {
            return "create database " + db + " (" + (fileCopy ? "file_copy" : "wal_log") + (away ? ", in " + TABLESPACE : "")
                    + ") with table a of " + rows + " rows";
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
        int n = r.nextInt(5);
        return n < 2 ? BackupType.INCR : n < 4 ? BackupType.DIFF : BackupType.FULL;
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
        int[] weights = {7, 3, 3, 3, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1};
        int roll = r.nextInt(java.util.Arrays.stream(weights).sum());
        int kind = 0;
        while (roll >= weights[kind]) {
            roll -= weights[kind++];
        }
        return switch (kind) {
            case 0 -> new Backup(backupType(r));
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
            case 11 -> new CreateDatabase(otherDb, r.nextBoolean(), r.nextBoolean(), rows);
            case 12 -> new DropDatabase(otherDb);
            default -> new Checkpoint();
        };
    }

    /** 1 to {@code ACTIONS} random actions, then a backup, so that the last changes are checked too. */
    static List<Action> sequence(Random r) {
        List<Action> all = new ArrayList<>();
        int n = 1 + r.nextInt(ACTIONS);
        for (int i = 0; i < n; i++) {
            all.add(action(r));
        }
        all.add(new Backup(backupType(r)));
        return List.copyOf(all);
    }
}
