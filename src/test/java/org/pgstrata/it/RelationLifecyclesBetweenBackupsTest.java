package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Relations whose files a page-level incremental can get wrong, changed between backups of one
 * cluster: a table cut by VACUUM, then grown again by COPY, which extends it many pages at a time
 * and leaves the last ones new (zeros, without WAL) where the full holds its old rows; TRUNCATE then
 * inserts in one transaction; a table created, filled, truncated in place and filled again in one
 * transaction; DROP TABLE then CREATE TABLE of the same name with more rows; CLUSTER, VACUUM FULL
 * and REINDEX; ALTER TABLE SET TABLESPACE both ways; ALTER TABLE SET UNLOGGED and SET LOGGED (and
 * back); a hash index that splits its buckets and a BRIN index as the table triples; large objects
 * written, added and removed; a database moved to another tablespace and back (ALTER DATABASE SET
 * TABLESPACE: its files return to the very paths the full holds them at, copied outside the pages'
 * WAL); and databases made with FILE_COPY and WAL_LOG from a template changed since the full.
 *
 * <p>On PostgreSQL 16 the incrementals compare every block; on 17 and 18 they read the WAL
 * summaries, and must (else this tests the scan again): there, only the cut's length in the
 * summaries names the new pages, and only the database's creation record names the moved-back
 * files. A chain (full, incr, diff, incr) and a reverse backup at every point: both repositories
 * verify, and the incrementals, the differential and the oldest and a middle reverse-delta point
 * restore with the content the source had at their backup (every database, the large objects, the
 * unlogged tables there and empty), and amcheck finds nothing.
 *
 * <p>By default only PostgreSQL 17 runs (see {@link #majors}), to keep CI short:
 * <pre>
 * mvn -B -Dtest=RelationLifecyclesBetweenBackupsTest -Dpgstrata.lifecycles.majors=16,17,18 verify
 * </pre>
 */
class RelationLifecyclesBetweenBackupsTest extends PgTest {
    private static final String DB = "life ü";
    private static final String TRAVEL = "travel";
    private static final String TEMPLATE = "tmpl";

    record Point(Path repo, String id, String label, State state) {
    }

    record State(Map<String, ContentChecksum.Result> content, Map<String, String> largeObjects, Map<String, String> unlogged) {
    }

    /**
     * The majors to run: 17 by default, for CI (the summaries' path; ZooStrategiesTest runs the
     * scan's on 15); {@code -Dpgstrata.lifecycles.majors=16,17,18} runs the others too.
     */
    static java.util.stream.IntStream majors() {
        return java.util.Arrays.stream(System.getProperty("pgstrata.lifecycles.majors", "17").split(","))
                .mapToInt(m -> Integer.parseInt(m.strip()));
    }

    @ParameterizedTest
    @MethodSource("majors")
    void relationsRemadeCutMovedAndRepersisted_restoreFromEveryPointOfAChainAndOfReverseDeltas(int major) throws Exception {
        LocalCluster c = pg.start("source", major);
        Path ts = Files.createDirectories(dir.resolve("tablespace"));
        Path chain = dir.resolve("chain");
        Path reverse = dir.resolve("reverse");
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLESPACE ts LOCATION " + Zoo.lit(ts.toString()),
                "CREATE DATABASE " + Zoo.q(DB), "CREATE DATABASE " + TRAVEL, "CREATE DATABASE " + TEMPLATE);
        db(c, DB,
                "CREATE TABLE shrink (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO shrink SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
                "CREATE TABLE trunc (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO trunc SELECT g, md5(g::text) FROM generate_series(1, 5000) g",
                "CREATE TABLE dropped (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO dropped SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
                "CREATE TABLE clus (id int PRIMARY KEY, k int NOT NULL, v text NOT NULL)",
                "INSERT INTO clus SELECT g, (g * 7919) % 10007, md5(g::text) FROM generate_series(1, 8000) g",
                "CREATE INDEX clus_k ON clus (k)",
                "CREATE TABLE vf (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO vf SELECT g, md5(g::text) FROM generate_series(1, 8000) g",
                "CREATE TABLE reidx (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO reidx SELECT g, md5(g::text) FROM generate_series(1, 8000) g",
                "CREATE INDEX reidx_v ON reidx (v)",
                "CREATE TABLE away (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO away SELECT g, md5(g::text) FROM generate_series(1, 4000) g",
                "CREATE TABLE back (id int PRIMARY KEY, v text NOT NULL) TABLESPACE ts",
                "INSERT INTO back SELECT g, md5(g::text) FROM generate_series(1, 4000) g",
                "CREATE TABLE to_unlogged (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO to_unlogged SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
                "CREATE UNLOGGED TABLE to_logged (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO to_logged SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
                "CREATE TABLE hashed (id int PRIMARY KEY, k int NOT NULL, at int NOT NULL)",
                "INSERT INTO hashed SELECT g, g * 31, g FROM generate_series(1, 5000) g",
                "CREATE INDEX hashed_k ON hashed USING hash (k)",
                "CREATE INDEX hashed_at ON hashed USING brin (at) WITH (pages_per_range = 2)",
                "SELECT lo_from_bytea(70001, convert_to(repeat('large object ', 2000), 'UTF8'))",
                "SELECT lo_from_bytea(70002, decode(md5('small'), 'hex'))");
        db(c, TRAVEL, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 6000) g");
        db(c, TEMPLATE, "CREATE TABLE kept (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO kept SELECT g, 'template row ' || g FROM generate_series(1, 4000) g", "CREATE INDEX ON kept (v)");
        for (String d : List.of("postgres", DB, TRAVEL, TEMPLATE)) {
            db(c, d, "VACUUM (FREEZE, ANALYZE)");
        }
        PgSupport.sql(c, "CHECKPOINT");

        List<Point> points = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        State s = state(c);
        CliBackups.backupId(chain, c, "full"); // its point is restored as "reverse 0", the oldest reverse delta
        points.add(new Point(reverse, CliBackups.backupId(reverse, c, "reverse"), "reverse 0", s));

        // Step 1: cut and grown again, truncated and refilled, dropped and made again, rewritten, moved, re-persisted, split.
        long before = size(c, "shrink");
        db(c, DB, "DELETE FROM shrink WHERE id > 200", "VACUUM shrink");
        assertThat(size(c, "shrink")).as("VACUUM cut shrink's trailing empty pages").isLessThan(before / 10);
        // COPY extends a table by many pages at once (PostgreSQL 16+) and leaves the last ones new (zeros), without WAL: where the
        // full holds rows of the table before its cut. Only the cut's length in the summaries says that those blocks changed.
        copy(c, "shrink", 201, 12200, "grown again");
        db(c, DB,
                "BEGIN", "TRUNCATE trunc", "INSERT INTO trunc SELECT g, 'after truncate ' || g FROM generate_series(1, 9000) g", "COMMIT",
                "DROP TABLE dropped",
                "CREATE TABLE dropped (id int PRIMARY KEY, w text NOT NULL, n int NOT NULL)",
                "INSERT INTO dropped SELECT g, 'made again ' || g, g % 13 FROM generate_series(1, 30000) g",
                "UPDATE clus SET v = v || '!' WHERE id % 3 = 0", "CLUSTER clus USING clus_k",
                "DELETE FROM vf WHERE id % 2 = 0", "VACUUM FULL vf",
                "UPDATE reidx SET v = 'x' || v WHERE id % 5 = 0", "REINDEX TABLE reidx",
                "ALTER TABLE away SET TABLESPACE ts", "UPDATE away SET v = v || ' moved' WHERE id % 10 = 0",
                "ALTER TABLE back SET TABLESPACE pg_default", "UPDATE back SET v = v || ' back' WHERE id % 10 = 0",
                "ALTER TABLE to_unlogged SET UNLOGGED", "INSERT INTO to_unlogged VALUES (100000, 'unlogged now')",
                "ALTER TABLE to_logged SET LOGGED", "INSERT INTO to_logged VALUES (100000, 'logged now')",
                "INSERT INTO hashed SELECT g, g * 31, g FROM generate_series(5001, 15000) g",
                "UPDATE hashed SET k = k + 1 WHERE id % 17 = 0",
                "SELECT lo_put(70001, 5000, convert_to('changed in step 1', 'UTF8'))",
                "SELECT lo_from_bytea(70003, convert_to(repeat('later ', 3000), 'UTF8'))");
        PgSupport.sql(c, "ALTER DATABASE " + TRAVEL + " SET TABLESPACE ts");
        db(c, TRAVEL, "UPDATE t SET v = v || ' in ts' WHERE id % 7 = 0");
        db(c, TEMPLATE, "UPDATE kept SET v = v || ' changed' WHERE id % 4 = 0", "INSERT INTO kept VALUES (100000, 'after the full')");
        PgSupport.sql(c, "CREATE DATABASE fc STRATEGY FILE_COPY TEMPLATE " + TEMPLATE, "CREATE DATABASE wl STRATEGY WAL_LOG TEMPLATE " + TEMPLATE);
        db(c, "fc", "INSERT INTO kept VALUES (200000, 'only in fc')");
        db(c, "wl", "DELETE FROM kept WHERE id % 9 = 0");
        s = state(c);
        JsonNode b = CliBackups.backup(chain, c, "incr");
        sources.add(b.path("changeSource").asText());
        points.add(new Point(chain, b.get("id").asText(), "incr after step 1", s));
        CliBackups.backupId(reverse, c, "reverse"); // verified, not restored: restores are what this test spends its time on

        // Step 2 (a differential over the full): the database back at the paths the full holds, persistence back.
        PgSupport.sql(c, "ALTER DATABASE " + TRAVEL + " SET TABLESPACE pg_default");
        // One row: the other blocks of t changed in the tablespace only, under the other tablespace's OID in the summaries.
        db(c, TRAVEL, "UPDATE t SET v = v || ' home' WHERE id = 5999");
        db(c, DB, "ALTER TABLE to_unlogged SET LOGGED", "INSERT INTO to_unlogged VALUES (100001, 'logged again')",
                "ALTER TABLE to_logged SET UNLOGGED",
                "BEGIN", "CREATE TABLE inplace (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO inplace SELECT g, md5(g::text) FROM generate_series(1, 6000) g",
                "TRUNCATE inplace", "INSERT INTO inplace SELECT g, 'kept ' || g FROM generate_series(1, 300) g", "COMMIT",
                "DELETE FROM shrink WHERE id > 100", "VACUUM shrink", "SELECT lo_unlink(70002)");
        copy(c, "shrink", 101, 12100, "third");
        db(c, TEMPLATE, "DELETE FROM kept WHERE id % 11 = 0");
        PgSupport.sql(c, "CREATE DATABASE fc2 STRATEGY FILE_COPY TEMPLATE " + TEMPLATE);
        s = state(c);
        b = CliBackups.backup(chain, c, "diff");
        sources.add(b.path("changeSource").asText());
        points.add(new Point(chain, b.get("id").asText(), "diff after step 2", s));
        points.add(new Point(reverse, CliBackups.backupId(reverse, c, "reverse"), "reverse 2", s));

        // Step 3 (an incremental over the differential): cut again, a database gone, moved away again.
        db(c, DB, "DELETE FROM inplace WHERE id > 50", "VACUUM inplace", "INSERT INTO inplace SELECT g, 'again ' || g FROM generate_series(51, 500) g",
                "VACUUM FULL hashed", "DROP TABLE away");
        PgSupport.sql(c, "DROP DATABASE fc", "ALTER DATABASE " + TRAVEL + " SET TABLESPACE ts");
        s = state(c);
        b = CliBackups.backup(chain, c, "incr");
        sources.add(b.path("changeSource").asText());
        points.add(new Point(chain, b.get("id").asText(), "incr after step 3", s));
        CliBackups.backupId(reverse, c, "reverse"); // the newest full, verified

        assertThat(sources).as("how the incrementals and the differential found the changes")
                .containsOnly(major >= 17 ? "wal-summary" : "scan");
        for (Path repo : List.of(chain, reverse)) {
            JsonNode v = CliBackups.run("verify", "-q", "--json", "--repo", repo.toString());
            assertThat(v.path("problems")).as("verify of %s: %s", repo, v).isEmpty();
        }
        List<String> failures = new ArrayList<>();
        int n = 0;
        for (Point p : points) {
            Path target = dir.resolve("restored-" + n++);
            try {
                LocalCluster restored = CliBackups.restore(pg, p.repo(), target, major, "--backup", p.id()).cluster();
                try {
                    State got = state(restored);
                    if (!got.content().equals(p.state().content())) {
                        failures.add(p.label() + ": content " + got.content() + ", expected " + p.state().content());
                    }
                    if (!got.largeObjects().equals(p.state().largeObjects())) {
                        failures.add(p.label() + ": large objects " + got.largeObjects() + ", expected " + p.state().largeObjects());
                    }
                    Map<String, String> emptied = new TreeMap<>();
                    p.state().unlogged().keySet().forEach(k -> emptied.put(k, "0"));
                    if (!got.unlogged().equals(emptied)) {
                        failures.add(p.label() + ": unlogged tables " + got.unlogged() + ", expected " + emptied);
                    }
                    List<String> am = ClusterContent.amcheck(restored);
                    if (!am.isEmpty()) {
                        failures.add(p.label() + ": amcheck " + am);
                    }
                } finally {
                    restored.stopImmediately();
                    PgSupport.deleteTree(target);
                }
            } catch (Exception | AssertionError e) {
                failures.add(p.label() + ": " + e.getMessage().strip().replace('\n', ' '));
            }
        }
        assertThat(failures).as("PostgreSQL %d", major).isEmpty();
    }

    private static void db(LocalCluster c, String db, String... statements) throws SQLException {
        LogicalSupport.sql(c, db, statements);
    }

    /** Rows {@code from..to} of {@code table} (id, v) through COPY, as one client's bulk load. */
    private static void copy(LocalCluster c, String table, int from, int to, String prefix) throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = from; i <= to; i++) {
            rows.append(i).append('\t').append(prefix).append(' ').append(i).append('\n');
        }
        try (var conn = org.pgstrata.db.Db.connect(PgSupport.conn(c).withDbname(DB))) {
            new org.postgresql.copy.CopyManager(conn.unwrap(org.postgresql.core.BaseConnection.class))
                    .copyIn("COPY " + table + " (id, v) FROM STDIN", new java.io.StringReader(rows.toString()));
        }
    }

    private static long size(LocalCluster c, String table) throws SQLException {
        try (var conn = org.pgstrata.db.Db.connect(PgSupport.conn(c).withDbname(DB))) {
            return Long.parseLong(org.pgstrata.db.Db.queryString(conn, "SELECT pg_relation_size('" + table + "')"));
        }
    }

    /** Every database's content, its large objects (id and content hash), and its unlogged tables' row counts. */
    private static State state(LocalCluster c) throws SQLException {
        List<String> dbs = ClusterContent.databases(c, false);
        Map<String, String> los = new TreeMap<>();
        for (String d : dbs) {
            try (var conn = org.pgstrata.db.Db.connect(PgSupport.conn(c).withDbname(d))) {
                los.put(d, org.pgstrata.db.Db.queryString(conn, "SELECT count(*) || ' ' || coalesce(md5(string_agg(oid || ':' || md5(lo_get(oid)), ',' "
                        + "ORDER BY oid)), '') FROM pg_largeobject_metadata"));
            }
        }
        return new State(ClusterContent.of(c), los, Zoo.unlogged(c, dbs));
    }
}
