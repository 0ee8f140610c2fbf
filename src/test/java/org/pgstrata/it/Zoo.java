package org.pgstrata.it;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster holding as many kinds of PostgreSQL object as the tests can think of, few rows of
 * each: several databases (one in a tablespace, one made by FILE_COPY at a fixed OID), a role and
 * a tablespace, partitioned (with a sub-partitioned and a default partition) and inherited tables,
 * TOAST (values that do not compress), arrays, ranges and multiranges, domains, enums, composite
 * types, jsonb and hstore, a table with no columns, a table with no primary key, large objects,
 * unlogged tables and an unlogged sequence, a materialized view, views, a trigger, a row-level
 * policy, extended statistics, sequences, comments and grants, database settings, and an index of
 * every access method (btree, hash, gist, spgist, gin, brin with three operator classes, bloom);
 * identifiers with spaces, quotes, backslashes and Unicode. {@link #change(int)} changes it with
 * DDL and DML between backups.
 *
 * <p>Besides the content proof ({@link ClusterContent}) and a pg_dump comparison ({@link Dumps}),
 * the zoo offers what neither of them sees: {@link #probes} reads each index that is not a
 * B-tree through a query that only that index can answer (amcheck checks B-trees only),
 * {@link #matviews} hashes the materialized views' rows, and {@link #unlogged} counts the rows of
 * the unlogged tables, which a physical restore must bring back empty.
 *
 * <p>Kinds that a known engine defect breaks can be left out to tell the harness from the
 * engine, and a failure apart by kind: {@code -Dpgstrata.zoo.without=spgist,file-copy-reuse,...}
 * (see {@link Feature}); the default is the whole zoo.
 */
public final class Zoo {
    /** The main database: quotes, a backslash, a space and Unicode in its name. */
    public static final String MAIN = "zoo 'main' \"db\" \\ ü";
    /** A database whose default tablespace is the zoo's tablespace. */
    public static final String OTHER = "zoo other ü";
    /** A database made with STRATEGY FILE_COPY at a fixed OID, made again at that OID by {@link #change}. */
    public static final String COPY = "zoo copy";
    public static final long COPY_OID = 50_001;
    public static final String TABLESPACE = "zoo \"space\" ü";
    public static final String ROLE = "zoo \"owner\" ü\\";

    private static final String WEIRD_COL = "wéird col \"q\" \\";
    private static final String SCHEMA = "sch ema ü";
    private static final String SEQ = "séq \"1\"";
    private static final String DOGS = "dögs \"good\"";
    private static final String PART_2025 = "measures 2025 ü";
    private static final String NO_COLUMNS = "nothing here";
    private static final String STORED_AWAY = "stored away";
    private static final String POSTGRES_TABLE = "postgres ü table";
    private static final long LO_BIG = 60_001;
    private static final long LO_SMALL = 60_002;
    private static final long LO_LATER = 60_003;

    /**
     * Kinds of object (or of change) that a test can leave out with
     * {@code -Dpgstrata.zoo.without=NAME,...}. Each is one of the engine defects listed in the
     * issue this zoo was written for; leaving one out shows whether everything else holds.
     */
    public enum Feature {
        /** SP-GiST indexes: an insert rewrites the metapage (block 0) without WAL, so its LSN does not move. */
        SPGIST,
        /**
         * Dropping {@link #COPY} and making it again with STRATEGY FILE_COPY at the same OID (from
         * another template): pages older than the last backup, under paths that held other pages
         * then. Without it, the copy is made again with WAL_LOG at the same OID.
         */
        FILE_COPY_REUSE,
        /** A table without columns (rows, but nothing to hash or key). */
        ZERO_COLUMN,
        /** Large objects, with a comment and a grant. */
        LARGE_OBJECTS,
        /** ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET, COMMENT ON DATABASE. */
        DATABASE_SETTINGS;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Feature parse(String label) {
            for (Feature f : values()) {
                if (f.label().equals(label.trim())) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown zoo feature '" + label + "' in -Dpgstrata.zoo.without; known: "
                    + Arrays.stream(values()).map(Feature::label).toList());
        }
    }

    /** The features -Dpgstrata.zoo.without leaves out (none by default). */
    public static Set<Feature> withoutFromProperty() {
        Set<Feature> out = EnumSet.noneOf(Feature.class);
        String given = System.getProperty("pgstrata.zoo.without", "");
        for (String s : given.split(",")) {
            if (!s.isBlank()) {
                out.add(Feature.parse(s));
            }
        }
        return out;
    }

    private final LocalCluster cluster;
    private final Set<Feature> without = EnumSet.noneOf(Feature.class);

    private Zoo(LocalCluster cluster, Set<Feature> without) {
        this.cluster = cluster;
        this.without.addAll(without);
    }

    /** False for a kind this zoo was built without. */
    public boolean has(Feature f) {
        return !without.contains(f);
    }

    /** The whole zoo, leaving out what -Dpgstrata.zoo.without names. */
    public static Zoo build(LocalCluster c, Path tablespaceDirectory) throws SQLException {
        return build(c, tablespaceDirectory, withoutFromProperty());
    }

    /**
     * Builds the zoo in {@code c} (PostgreSQL 15 or later: CREATE DATABASE ... OID), with its
     * tablespace at {@code tablespaceDirectory}, an empty directory outside the data directory.
     */
    public static Zoo build(LocalCluster c, Path tablespaceDirectory, Set<Feature> without) throws SQLException {
        Zoo z = new Zoo(c, without);
        z.exec("postgres",
                "CREATE ROLE " + q(ROLE) + " NOLOGIN",
                "CREATE TABLESPACE " + q(TABLESPACE) + " LOCATION " + lit(tablespaceDirectory.toString()),
                "CREATE DATABASE " + q(MAIN) + " TEMPLATE template0",
                "CREATE DATABASE " + q(OTHER) + " TABLESPACE " + q(TABLESPACE),
                "CREATE TABLE " + q(POSTGRES_TABLE) + " (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO " + q(POSTGRES_TABLE) + " SELECT g, 'row ' || g FROM generate_series(1, 200) g");
        z.buildMain();
        z.exec(OTHER,
                "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, at date NOT NULL)",
                "INSERT INTO notes SELECT g, 'note ' || g || repeat(' ü', g % 9), date '2024-03-01' + g FROM generate_series(1, 500) g",
                "CREATE TABLE \"in default space\" (id int PRIMARY KEY, v text) TABLESPACE pg_default",
                "INSERT INTO \"in default space\" SELECT g, md5(g::text) FROM generate_series(1, 100) g",
                "CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text)",
                "INSERT INTO cache SELECT 'k' || g, md5(g::text) FROM generate_series(1, 100) g",
                "ANALYZE");
        z.makeCopyDatabase("FILE_COPY", "template1");
        return z;
    }

    private void buildMain() throws SQLException {
        List<String> s = new ArrayList<>(List.of(
                "CREATE EXTENSION btree_gist",
                "CREATE EXTENSION pg_trgm",
                "CREATE EXTENSION hstore",
                "CREATE EXTENSION bloom",
                "CREATE SCHEMA " + q(SCHEMA),
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ünï \"q\" \\')",
                "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
                "CREATE TYPE pair AS (l text, r int)",
                "CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi)",
                "CREATE SEQUENCE " + q(SCHEMA) + "." + q(SEQ) + " INCREMENT 7 MINVALUE 1 MAXVALUE 1000 CYCLE",
                "SELECT nextval(" + lit(q(SCHEMA) + "." + q(SEQ)) + ") FROM generate_series(1, 5)",
                "CREATE TABLE items (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, mood mood NOT NULL, n posint NOT NULL, "
                        + "tags text[] NOT NULL, ints int[], span int4range, mr int4multirange, tsr tstzrange, fr floatrange, doc jsonb, "
                        + "kv hstore, p point, bx box, ip inet, body text, raw bytea, c pair, " + q(WEIRD_COL) + " text COLLATE \"C\", "
                        + "label text, b1 int, b2 timestamptz, b3 int, bl1 int, bl2 text, twice int GENERATED ALWAYS AS (n * 2) STORED, "
                        + "at timestamptz NOT NULL)",
                itemsInsert(1, 2000),
                // Each index answers its own probe (see PROBES): one usable index per column and operator.
                "CREATE INDEX items_n_partial ON items (n) WHERE n > 50",
                "CREATE INDEX \"items lower ü\" ON items (lower(left(body, 12)))",
                "CREATE UNIQUE INDEX items_id_include ON items (id) INCLUDE (n)",
                "CREATE INDEX items_mood_hash ON items USING hash (mood)",
                "CREATE INDEX items_label_hash ON items USING hash (label)",
                "CREATE INDEX items_tsr_gist ON items USING gist (tsr)",
                "CREATE INDEX items_p_gist ON items USING gist (p)",
                "CREATE INDEX items_weird_trgm_gist ON items USING gist (" + q(WEIRD_COL) + " gist_trgm_ops)",
                "CREATE INDEX items_tags_gin ON items USING gin (tags)",
                "CREATE INDEX items_doc_gin ON items USING gin (doc jsonb_path_ops)",
                "CREATE INDEX items_kv_gin ON items USING gin (kv)",
                "CREATE INDEX items_body_trgm_gin ON items USING gin (body gin_trgm_ops)",
                "CREATE INDEX items_b1_brin ON items USING brin (b1) WITH (pages_per_range = 2)",
                "CREATE INDEX items_b2_brin_multi ON items USING brin (b2 timestamptz_minmax_multi_ops) WITH (pages_per_range = 2)",
                "CREATE INDEX items_b3_brin_bloom ON items USING brin (b3 int4_bloom_ops) WITH (pages_per_range = 2)",
                "CREATE INDEX items_bloom ON items USING bloom (bl1, bl2)",
                "CREATE STATISTICS items_stats ON mood, n FROM items",
                "COMMENT ON TABLE items IS 'the zoo''s main table, ü'",
                "COMMENT ON COLUMN items." + q(WEIRD_COL) + " IS 'a column with a \"quoted\" \\ name'",
                "CREATE TABLE orders (id int PRIMARY KEY, item int NOT NULL REFERENCES items ON DELETE CASCADE, qty posint NOT NULL)",
                "INSERT INTO orders SELECT g, 1 + (g * 7) % 2000, 1 + g % 5 FROM generate_series(1, 800) g",
                "CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, op text NOT NULL, item int NOT NULL)",
                "CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN "
                        + "INSERT INTO audit (op, item) VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN NULL; END$f$",
                "CREATE TRIGGER items_audit AFTER INSERT OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION audit_items()",
                "CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL, data bytea NOT NULL)",
                // 64 kB of hex each, which pglz cannot shrink: TOAST stores it out of line, uncompressed
                "INSERT INTO docs SELECT g, 'doc ' || g, (SELECT string_agg(md5(g || ':' || i), '') FROM generate_series(1, 2000) i), "
                        + "decode((SELECT string_agg(md5(i || ':' || g), '') FROM generate_series(1, 300) i), 'hex') FROM generate_series(1, 10) g",
                "CREATE TABLE measures (id int NOT NULL, at date NOT NULL, region text NOT NULL, v numeric, PRIMARY KEY (id, at, region)) "
                        + "PARTITION BY RANGE (at)",
                "CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "CREATE TABLE " + q(PART_2025) + " PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') TABLESPACE "
                        + q(TABLESPACE),
                "CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (region)",
                "CREATE TABLE measures_2026_north PARTITION OF measures_2026 FOR VALUES IN ('north')",
                "CREATE TABLE measures_2026_rest PARTITION OF measures_2026 DEFAULT",
                "CREATE TABLE measures_default PARTITION OF measures DEFAULT",
                "CREATE INDEX ON measures (region, at)",
                measuresInsert(1, 1500),
                "CREATE TABLE animals (id int PRIMARY KEY, name text NOT NULL)",
                "CREATE TABLE " + q(DOGS) + " (breed text) INHERITS (animals)",
                "ALTER TABLE " + q(DOGS) + " ADD PRIMARY KEY (id)",
                "CREATE TABLE cats (lives int DEFAULT 9) INHERITS (animals)",
                "ALTER TABLE cats ADD PRIMARY KEY (id)",
                // ids unique over the whole hierarchy, so that the parent's rows have one order by id
                "INSERT INTO animals SELECT g, 'animal ' || g FROM generate_series(1, 100) g",
                "INSERT INTO " + q(DOGS) + " SELECT 1000 + g, 'dog ' || g, 'breed ' || g % 7 FROM generate_series(1, 100) g",
                "INSERT INTO cats SELECT 2000 + g, 'cat ' || g, g % 10 FROM generate_series(1, 100) g",
                "CREATE TABLE log_lines (at int, line text)", // no primary key, duplicate rows
                "INSERT INTO log_lines SELECT g % 50, 'line ' || g % 50 FROM generate_series(1, 300) g",
                "CREATE TABLE " + q(STORED_AWAY) + " (id int PRIMARY KEY, v text NOT NULL) TABLESPACE " + q(TABLESPACE),
                "INSERT INTO " + q(STORED_AWAY) + " SELECT g, CASE WHEN g % 50 = 0 THEN (SELECT string_agg(md5(g || '/' || i), '') "
                        + "FROM generate_series(1, 100) i) ELSE 'away ' || g END FROM generate_series(1, 400) g",
                "CREATE INDEX stored_away_v ON " + q(STORED_AWAY) + " (left(v, 10)) TABLESPACE " + q(TABLESPACE),
                "CREATE TABLE " + q(SCHEMA) + ".\"tåble \"\"q\"\" \\\" (id int PRIMARY KEY, \"vål\" text)",
                "INSERT INTO " + q(SCHEMA) + ".\"tåble \"\"q\"\" \\\" SELECT g, E'tab\\there ' || g FROM generate_series(1, 50) g",
                "CREATE TABLE secrets (id int PRIMARY KEY, owner_name text NOT NULL, secret text)",
                "INSERT INTO secrets SELECT g, 'user' || g % 3, 's' || g FROM generate_series(1, 60) g",
                "ALTER TABLE secrets ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY own_rows ON secrets USING (owner_name = current_user)",
                "CREATE UNLOGGED TABLE scratch (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text NOT NULL)",
                "CREATE INDEX ON scratch (v)",
                "INSERT INTO scratch (v) SELECT 'scratch ' || g FROM generate_series(1, 300) g",
                "CREATE UNLOGGED SEQUENCE unlogged_seq",
                "SELECT nextval('unlogged_seq') FROM generate_series(1, 3)",
                "CREATE MATERIALIZED VIEW mood_counts AS SELECT mood, count(*) AS n, sum(n) AS total FROM items GROUP BY mood",
                "CREATE UNIQUE INDEX ON mood_counts (mood)",
                "CREATE MATERIALIZED VIEW \"doc sizes ü\" AS SELECT id, length(body) AS len FROM docs",
                "CREATE VIEW \"recent ü\" AS SELECT id, mood, n FROM items WHERE id > 1900",
                "ALTER TABLE docs OWNER TO " + q(ROLE),
                "GRANT SELECT, INSERT ON items TO " + q(ROLE),
                "GRANT USAGE ON SCHEMA " + q(SCHEMA) + " TO " + q(ROLE)));
        if (has(Feature.SPGIST)) {
            s.addAll(List.of(
                    "CREATE INDEX items_span_spgist ON items USING spgist (span)",
                    "CREATE INDEX items_bx_spgist ON items USING spgist (bx)",
                    "CREATE INDEX items_weird_spgist ON items USING spgist (" + q(WEIRD_COL) + ")",
                    "CREATE INDEX items_ip_spgist ON items USING spgist (ip)"));
        }
        if (has(Feature.ZERO_COLUMN)) {
            s.addAll(List.of("CREATE TABLE " + q(NO_COLUMNS) + " ()",
                    "INSERT INTO " + q(NO_COLUMNS) + " SELECT FROM generate_series(1, 5)"));
        }
        if (has(Feature.LARGE_OBJECTS)) {
            s.addAll(List.of(
                    // 7.5 kB: four pg_largeobject pages
                    "SELECT lo_from_bytea(" + LO_BIG + ", convert_to(repeat('large object ü ', 500), 'UTF8'))",
                    "SELECT lo_from_bytea(" + LO_SMALL + ", decode(md5('small'), 'hex'))",
                    "COMMENT ON LARGE OBJECT " + LO_BIG + " IS 'the zoo''s large object'",
                    "GRANT SELECT ON LARGE OBJECT " + LO_BIG + " TO " + q(ROLE)));
        }
        if (has(Feature.DATABASE_SETTINGS)) {
            s.addAll(databaseSettings(0));
        }
        s.add("ANALYZE");
        exec(MAIN, s.toArray(String[]::new));
    }

    private List<String> databaseSettings(int step) {
        return List.of("ALTER DATABASE " + q(MAIN) + " SET work_mem = '" + (3 + step) + "MB'",
                "ALTER DATABASE " + q(MAIN) + " SET random_page_cost = " + (1.5 + step),
                "ALTER ROLE " + q(ROLE) + " IN DATABASE " + q(MAIN) + " SET search_path = " + lit(SCHEMA + ", public"),
                "COMMENT ON DATABASE " + q(MAIN) + " IS " + lit("the zoo, step " + step + " 'ü'"));
    }

    /**
     * (Re)makes {@link #COPY} at {@link #COPY_OID} with {@code strategy} from {@code template}, in
     * the default tablespace, and writes a table into it.
     */
    private void makeCopyDatabase(String strategy, String template) throws SQLException {
        // From the main database: a template must have no session, postgres included.
        exec(MAIN, "DROP DATABASE IF EXISTS " + q(COPY) + " WITH (FORCE)",
                "CREATE DATABASE " + q(COPY) + " OID " + COPY_OID + " STRATEGY " + strategy + " TEMPLATE " + q(template)
                        + " TABLESPACE pg_default");
        // The copy's catalog pages change here (their LSNs move past the backup that follows).
        exec(COPY, "CREATE TABLE copied (id int PRIMARY KEY, v text NOT NULL, made text NOT NULL)",
                "INSERT INTO copied SELECT g, md5(g::text), " + lit(strategy) + " FROM generate_series(1, 300) g",
                "CREATE INDEX ON copied (v)");
    }

    private static String itemsInsert(int from, int to) {
        return "INSERT INTO items (id, mood, n, tags, ints, span, mr, tsr, fr, doc, kv, p, bx, ip, body, raw, c, " + q(WEIRD_COL)
                + ", label, b1, b2, b3, bl1, bl2, at) "
                + "SELECT g, (enum_range(NULL::mood))[1 + g % 4], 1 + g % 97, ARRAY['t' || g % 13, 'x' || g % 5, E'back\\\\slash'], "
                + "ARRAY[g, g * 2, g % 7], int4range(g, g + 1 + g % 20), int4multirange(int4range(g, g + 2), int4range(g + 5, g + 9)), "
                + "tstzrange(timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', timestamptz '2024-01-01 00:00+00' + (g + 3) * interval '1 hour'), "
                + "floatrange(g / 4.0, g / 4.0 + 1.5), jsonb_build_object('g', g, 'k', 'v' || g % 11, 'arr', jsonb_build_array(g, g % 3)), "
                + "hstore(ARRAY['a', 'b' || g % 3], ARRAY[g::text, 'ü']), point(g % 50, g / 50), "
                + "box(point(g % 40, g % 30), point(g % 40 + 2, g % 30 + 3)), ('10.' || g % 200 || '.' || g / 200 % 256 || '.0/24')::inet, "
                // every hundredth body is 6.4 kB of hex: TOAST
                + "CASE WHEN g % 100 = 0 THEN (SELECT string_agg(md5(g || '.' || i), '') FROM generate_series(1, 200) i) "
                + "ELSE 'body ' || g || repeat(' word', g % 30) END, "
                + "decode(md5(g::text), 'hex'), ROW('l' || g, g)::pair, E'wé\\\\ird ' || g, 'label ' || g % 40, g, "
                + "timestamptz '2024-01-01 00:00+00' + g * interval '1 minute', g % 500, g % 300, 'b' || g % 70, "
                + "timestamptz '2024-01-01 00:00+00' + g * interval '1 minute' FROM generate_series(" + from + ", " + to + ") g";
    }

    private static String measuresInsert(int from, int to) {
        // dates from 2024 into 2027: every partition, the sub-partitions and the default one get rows
        return "INSERT INTO measures SELECT g, date '2024-01-01' + (g * 3 % 1200), (ARRAY['north', 'south', 'east'])[1 + g % 3], g * 1.25 "
                + "FROM generate_series(" + from + ", " + to + ") g";
    }

    /**
     * Changes the zoo with DDL and DML: step 1, 2, 3 ... each differ (any step number is valid,
     * in order). Every step inserts, updates and deletes (TOAST values, partitions, inherited
     * tables, indexed columns of every access method, the unlogged table), adds an enum value,
     * moves sequences and, where the zoo has them, changes large objects and database settings;
     * each step also does DDL of its own (see the comments).
     */
    public void change(int step) throws SQLException {
        int base = 2000 + 100 * step;
        List<String> s = new ArrayList<>(List.of(
                itemsInsert(base + 1, base + 60),
                "UPDATE items SET n = n + 1, tags = tags || ('u' || " + step + "), doc = doc || jsonb_build_object('step', " + step + "), "
                        + "kv = kv || hstore('s', '" + step + "'), span = int4range(lower(span) + 1, upper(span) + 2), bx = box(p, point(p[0] + 9, p[1] + 9)), "
                        + q(WEIRD_COL) + " = " + q(WEIRD_COL) + " || ' u', bl2 = bl2 || 'u', b3 = b3 + 1 WHERE id % 37 = " + step,
                "UPDATE items SET body = (SELECT string_agg(md5(id || '/' || " + step + " || '/' || i), '') FROM generate_series(1, 200) i) "
                        + "WHERE id % 300 = " + step,
                "DELETE FROM items WHERE id % 101 = " + step,
                "UPDATE docs SET body = left(body, 1000) || md5('" + step + "') || substr(body, 1033) WHERE id = " + (1 + step % 10),
                measuresInsert(1500 + 100 * step + 1, 1500 + 100 * step + 80),
                "UPDATE measures SET v = v + " + step + " WHERE id % 13 = " + step,
                "DELETE FROM measures WHERE id % 29 = " + step,
                "INSERT INTO " + q(DOGS) + " SELECT 1000 + 100 * " + step + " + g, 'dog ' || g || ' of step " + step + "', 'mutt' "
                        + "FROM generate_series(1, 20) g",
                "UPDATE animals SET name = name || '+' WHERE id % 10 = " + step % 10,
                "DELETE FROM cats WHERE id = " + (2000 + 10 * step),
                "INSERT INTO log_lines SELECT " + step + ", 'step " + step + "' FROM generate_series(1, 3)",
                "INSERT INTO scratch (v) SELECT 'scratch step " + step + " ' || g FROM generate_series(1, 50) g",
                "UPDATE " + q(STORED_AWAY) + " SET v = v || ' " + step + "' WHERE id % 7 = " + step % 7,
                "INSERT INTO orders SELECT 800 + " + (10 * step) + " + g, (SELECT max(id) FROM items), g FROM generate_series(1, 10) g",
                "ALTER TYPE mood ADD VALUE 'step " + step + "'",
                "SELECT nextval(" + lit(q(SCHEMA) + "." + q(SEQ)) + ") FROM generate_series(1, " + (3 + step) + ")",
                "SELECT nextval('unlogged_seq')"));
        if (has(Feature.ZERO_COLUMN)) {
            s.add("INSERT INTO " + q(NO_COLUMNS) + " SELECT FROM generate_series(1, " + step + ")");
            s.add("DELETE FROM " + q(NO_COLUMNS) + " WHERE ctid = (SELECT min(ctid) FROM " + q(NO_COLUMNS) + ")");
        }
        if (has(Feature.LARGE_OBJECTS)) {
            s.add("SELECT lo_put(" + LO_BIG + ", " + (100 * step) + ", convert_to('changed at step " + step + "', 'UTF8'))");
            if (step == 1) {
                s.add("SELECT lo_from_bytea(" + LO_LATER + ", convert_to(repeat('later ', 1000), 'UTF8'))");
            } else if (step == 2) {
                s.add("SELECT lo_unlink(" + LO_SMALL + ")");
            }
        }
        if (has(Feature.DATABASE_SETTINGS)) {
            s.addAll(databaseSettings(step));
        }
        switch (step) {
            case 1 -> s.addAll(List.of(
                    // a column with a default (no rewrite), a new partition, a column added to an inheritance tree
                    "ALTER TABLE items ADD COLUMN extra int DEFAULT 7",
                    "CREATE TABLE measures_2028 PARTITION OF measures FOR VALUES FROM ('2028-01-01') TO ('2029-01-01')",
                    "INSERT INTO measures SELECT 9000 + g, date '2028-01-01' + g, 'north', g FROM generate_series(1, 50) g",
                    "ALTER TABLE animals ADD COLUMN legs int DEFAULT 4",
                    "CREATE INDEX items_at_btree ON items (at)",
                    "VACUUM items"));
            case 2 -> s.addAll(List.of(
                    // a detached partition, a rewrite (new relfilenode), a table out of the tablespace, a refresh, a truncate, a rename
                    "ALTER TABLE measures DETACH PARTITION measures_2024",
                    "ALTER TABLE docs ALTER COLUMN title TYPE varchar(100)",
                    "ALTER TABLE " + q(STORED_AWAY) + " SET TABLESPACE pg_default",
                    "REFRESH MATERIALIZED VIEW CONCURRENTLY mood_counts",
                    "VACUUM FULL animals",
                    "TRUNCATE log_lines",
                    "INSERT INTO log_lines SELECT g, 'after truncate' FROM generate_series(1, 20) g",
                    "ALTER TABLE " + q(SCHEMA) + ".\"tåble \"\"q\"\" \\\" RENAME TO \"tåble renamed \"\"q\"\" ü\"",
                    "DROP INDEX items_at_btree"));
            case 3 -> s.addAll(List.of(
                    // a dropped table, the main table rewritten with every index rebuilt, a table back into the tablespace
                    "DROP TABLE measures_2024",
                    "CLUSTER items USING items_pkey",
                    "ALTER TABLE " + q(STORED_AWAY) + " SET TABLESPACE " + q(TABLESPACE),
                    "REFRESH MATERIALIZED VIEW \"doc sizes ü\"",
                    "CREATE TABLE \"new in step 3\" (id int PRIMARY KEY, v text)",
                    "INSERT INTO \"new in step 3\" SELECT g, 'v' || g FROM generate_series(1, 100) g"));
            case 4 -> s.addAll(List.of(
                    "VACUUM (FREEZE) items",
                    "ALTER TABLE items DROP COLUMN extra",
                    "REINDEX TABLE docs",
                    "DROP TABLE \"new in step 3\""));
            default -> {
            }
        }
        s.add("ANALYZE");
        exec(MAIN, s.toArray(String[]::new));

        exec(OTHER,
                "INSERT INTO notes SELECT 1000 * " + step + " + g, 'note of step " + step + "', date '2025-01-01' + g FROM generate_series(1, 40) g",
                "UPDATE notes SET body = body || '!' WHERE id % 11 = " + step,
                "DELETE FROM notes WHERE id % 17 = " + step,
                "INSERT INTO cache SELECT 'step " + step + " ' || g, 'v' FROM generate_series(1, 10) g");
        exec("postgres", "UPDATE " + q(POSTGRES_TABLE) + " SET v = v || '.' WHERE id % 9 = " + step % 9);

        // Databases: the copy database made again at its own OID from another template, so that its
        // catalog's files differ from the ones at those paths before, their pages older than the
        // last backup (step 1); another copy by FILE_COPY at a new OID (step 2), gone again (step 3).
        if (step == 1) {
            makeCopyDatabase(has(Feature.FILE_COPY_REUSE) ? "FILE_COPY" : "WAL_LOG", "postgres");
        } else if (step == 2) {
            exec("postgres", "CREATE DATABASE \"zoo copy of other\" STRATEGY FILE_COPY TEMPLATE " + q(OTHER));
            exec("zoo copy of other", "INSERT INTO notes VALUES (999999, 'only in the copy', date '2030-01-01')");
        } else if (step == 3) {
            exec("postgres", "DROP DATABASE \"zoo copy of other\"");
        }
    }

    // ---- what the content proof and pg_dump do not see ----

    /** An index probe: a query that only {@code index} can answer, in {@link #MAIN}. */
    record Probe(String index, String where) {
    }

    private List<Probe> probes() {
        List<Probe> p = new ArrayList<>(List.of(
                new Probe("items_mood_hash", "mood = 'ok'"),
                new Probe("items_label_hash", "label = 'label 7'"),
                new Probe("items_tsr_gist", "tsr && tstzrange('2024-01-10 00:00+00', '2024-01-11 00:00+00')"),
                new Probe("items_p_gist", "p <@ box '((0,0),(10,10))'"),
                new Probe("items_weird_trgm_gist", q(WEIRD_COL) + " LIKE '%ird 12%'"),
                new Probe("items_tags_gin", "tags @> ARRAY['t3']"),
                new Probe("items_doc_gin", "doc @> '{\"k\": \"v3\"}'"),
                new Probe("items_kv_gin", "kv @> hstore('b1', 'ü')"),
                new Probe("items_body_trgm_gin", "body LIKE '%word word word word word word%'"),
                new Probe("items_b1_brin", "b1 BETWEEN 300 AND 340"),
                new Probe("items_b2_brin_multi", "b2 BETWEEN '2024-01-01 05:00+00' AND '2024-01-01 06:00+00'"),
                new Probe("items_b3_brin_bloom", "b3 = 123"),
                new Probe("items_bloom", "bl1 = 17 AND bl2 = 'b17'"),
                new Probe("items_n_partial", "n > 95"),
                new Probe("items lower ü", "lower(left(body, 12)) = 'body 7 word '")));
        if (has(Feature.SPGIST)) {
            p.addAll(List.of(
                    new Probe("items_span_spgist", "span && int4range(100, 120)"),
                    new Probe("items_bx_spgist", "bx && box '((0,0),(5,5))'"),
                    new Probe("items_weird_spgist", q(WEIRD_COL) + " ^@ E'wé\\\\ird 1'"),
                    new Probe("items_ip_spgist", "ip << inet '10.1.0.0/16'")));
        }
        return p;
    }

    /**
     * Each probe's answer (row count and a hash of the ids) in {@code c}'s database {@code db}
     * (the zoo's {@link #MAIN}, or a logical restore of it), read through its index only.
     */
    public Map<String, String> probes(LocalCluster c, String db) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db)); Statement st = conn.createStatement()) {
            st.execute("SET enable_seqscan = off");
            for (Probe p : probes()) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), md5(string_agg(id::text, ',' ORDER BY id)) FROM items WHERE " + p.where())) {
                    rs.next();
                    out.put(p.index(), rs.getLong(1) + " " + rs.getString(2));
                }
            }
        }
        return out;
    }

    /**
     * Problems with the probes on the source: a probe whose plan does not use its index, or that
     * finds no row, would prove nothing. Empty when every probe reads its own index and finds rows.
     */
    public List<String> probeProblems() throws SQLException {
        List<String> problems = new ArrayList<>();
        try (Connection conn = Db.connect(PgSupport.conn(cluster).withDbname(MAIN)); Statement st = conn.createStatement()) {
            st.execute("SET enable_seqscan = off");
            for (Probe p : probes()) {
                StringBuilder plan = new StringBuilder();
                try (ResultSet rs = st.executeQuery("EXPLAIN SELECT id FROM items WHERE " + p.where())) {
                    while (rs.next()) {
                        plan.append(rs.getString(1)).append('\n');
                    }
                }
                String shown = p.index().matches("[a-z_][a-z0-9_]*") ? p.index() : q(p.index()); // as EXPLAIN spells it
                if (!plan.toString().contains(" " + shown + " ")) {
                    problems.add("probe of " + p.index() + " does not read it: " + plan.toString().replace('\n', ' '));
                }
                String count = Db.queryString(conn, "SELECT count(*) FROM items WHERE " + p.where());
                if ("0".equals(count)) {
                    problems.add("probe of " + p.index() + " finds no row");
                }
            }
        }
        return problems;
    }

    /**
     * Each materialized view's rows, hashed, or "not populated" (a query on it fails), by
     * relation name (prefixed with the database when there are several).
     */
    public static Map<String, String> matviews(LocalCluster c, List<String> dbs) throws SQLException {
        Map<String, String> populated = perRelation(c, dbs, "c.relkind = 'm'",
                "SELECT CASE WHEN relispopulated THEN 'populated' ELSE 'not populated' END FROM pg_class WHERE oid = %2$s");
        Map<String, String> rows = perRelation(c, dbs, "c.relkind = 'm' AND c.relispopulated",
                "SELECT count(*) || ' rows ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM %s t");
        populated.putAll(rows);
        return populated;
    }

    /** Each unlogged table's row count, by relation name (prefixed with the database when there are several). */
    public static Map<String, String> unlogged(LocalCluster c, List<String> dbs) throws SQLException {
        return perRelation(c, dbs, "c.relkind = 'r' AND c.relpersistence = 'u'", "SELECT count(*) FROM %s");
    }

    /** A sequence's state; {@code last} is null before its first nextval (and after a restore empties an unlogged one). */
    public record Sequence(String last, long increment, long min, long max, boolean cycle, boolean unlogged) {
        /** True when {@code other} is this state or one at most {@code steps} nextval calls later. */
        boolean reaches(Sequence other, int steps) {
            if (java.util.Objects.equals(last, other.last)) {
                return true;
            }
            if (last == null || other.last == null) {
                return false;
            }
            long v = Long.parseLong(last);
            for (int i = 0; i < steps; i++) {
                v += increment;
                if (v > max || v < min) {
                    if (!cycle) {
                        return false;
                    }
                    v = increment > 0 ? min : max;
                }
                if (Long.toString(v).equals(other.last)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Every sequence, logged or not, by name (prefixed with the database when there are several). */
    public static Map<String, Sequence> sequences(LocalCluster c, List<String> dbs) throws SQLException {
        Map<String, Sequence> out = new TreeMap<>();
        for (String db : dbs) {
            try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db)); Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT s.schemaname || '.' || s.sequencename, s.last_value::text, s.increment_by, s.min_value, "
                         + "s.max_value, s.cycle, c.relpersistence = 'u' FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname "
                         + "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename ORDER BY 1")) {
                while (rs.next()) {
                    out.put(key(dbs, db, rs.getString(1)), new Sequence(rs.getString(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                            rs.getBoolean(6), rs.getBoolean(7)));
                }
            }
        }
        return out;
    }

    private static String key(List<String> dbs, String db, String name) {
        return dbs.size() == 1 ? name : db + ": " + name;
    }

    /**
     * {@code query} over each relation {@code where} selects, in each of {@code dbs}: %1$s in it
     * stands for the quoted relation name, %2$s for its OID.
     */
    private static Map<String, String> perRelation(LocalCluster c, List<String> dbs, String where, String query) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        for (String db : dbs) {
            try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db))) {
                Map<String, String[]> rels = new LinkedHashMap<>();
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                        "SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.oid FROM pg_class c "
                                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + where + " ORDER BY 1")) {
                    while (rs.next()) {
                        rels.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3)});
                    }
                }
                for (var e : rels.entrySet()) {
                    out.put(key(dbs, db, e.getKey()), Db.queryString(conn, String.format(query, e.getValue()[0], e.getValue()[1])));
                }
            }
        }
        return out;
    }

    // ---- states and their comparison ----

    /**
     * What a restore is compared by: the content proof (DESIGN.md), the index probes, the
     * materialized views, the unlogged tables' row counts, the sequences, and a pg_dump.
     */
    public record State(Map<String, ContentChecksum.Result> content, Map<String, String> probes, Map<String, String> matviews,
                        Map<String, String> unlogged, Map<String, Sequence> sequences, String dump) {
    }

    /** The whole cluster, as a physical backup holds it: every database, pg_dumpall without unlogged rows. */
    public State clusterState(LocalCluster c) throws SQLException, IOException {
        List<String> dbs = ClusterContent.databases(c, false);
        return new State(ClusterContent.of(c), probes(c, MAIN), matviews(c, dbs), unlogged(c, dbs), sequences(c, dbs), Dumps.cluster(c));
    }

    /** One database, as a logical backup holds it: {@link #MAIN} on the source, or a logical restore of it under another name. */
    public State databaseState(LocalCluster c, String db) throws SQLException, IOException {
        List<String> dbs = List.of(db);
        return new State(Map.of("(the database)", contentByColumnName(c, db)), probes(c, db), matviews(c, dbs), unlogged(c, dbs),
                sequences(c, dbs), Dumps.database(c, db));
    }

    /**
     * The content proof of {@link ContentChecksum} (row count and a hash of the rows in primary-key
     * order, of every table) with each row read as jsonb, which keys the values by column name:
     * for logical restores, where pg_restore may put an inheritance child's columns in another
     * order (see {@link Dumps}) while every value stays the same.
     */
    public static ContentChecksum.Result contentByColumnName(LocalCluster c, String db) throws SQLException {
        List<ContentChecksum.TableSum> sums = new ArrayList<>();
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db))) {
            Map<String, String[]> tables = new LinkedHashMap<>();
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT n.nspname || '.' || cl.relname, quote_ident(n.nspname) || '.' || quote_ident(cl.relname),
                           coalesce((SELECT string_agg('t.' || quote_ident(a.attname), ', ' ORDER BY k.ord)
                                     FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
                                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                                     WHERE i.indrelid = cl.oid AND i.indisprimary), 'to_jsonb(t)::text')
                    FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
                    WHERE cl.relkind IN ('r', 'p') AND cl.relpersistence = 'p'
                      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
                    ORDER BY n.nspname, cl.relname""")) {
                while (rs.next()) {
                    tables.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3)});
                }
            }
            for (var t : tables.entrySet()) {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*), md5(coalesce(string_agg("
                        + "md5(to_jsonb(t)::text), '' ORDER BY " + t.getValue()[1] + "), '')) FROM " + t.getValue()[0] + " AS t")) {
                    rs.next();
                    sums.add(new ContentChecksum.TableSum(t.getKey(), rs.getLong(1), rs.getString(2)));
                }
            }
        }
        return new ContentChecksum.Result(sums, sums.toString());
    }

    /**
     * How a physical restore differs from the source's state at its point; empty when it holds
     * the same. Unlogged tables must be there and empty (and had rows on the source, or the check
     * proves nothing), unlogged sequences unset. With {@code replayedPast} (recovery replayed WAL
     * past a moment when the state was taken at rest, to a target) a logged sequence may stand up
     * to 32 values further, as PostgreSQL's WAL records it (see {@link Dumps}).
     */
    public static List<String> physicalDifferences(State source, State restored, boolean replayedPast) {
        List<String> problems = new ArrayList<>();
        contentDifferences(source.content(), restored.content(), problems);
        compare("index probes", source.probes(), restored.probes(), problems);
        compare("materialized views", source.matviews(), restored.matviews(), problems);
        if (!source.unlogged().keySet().equals(restored.unlogged().keySet())) {
            problems.add("unlogged tables: the source has " + source.unlogged().keySet() + ", the restore " + restored.unlogged().keySet());
        }
        source.unlogged().forEach((t, n) -> {
            if ("0".equals(n)) {
                problems.add("unlogged table " + t + " was empty on the source: its emptiness after the restore proves nothing");
            }
        });
        restored.unlogged().forEach((t, n) -> {
            if (!"0".equals(n)) {
                problems.add("unlogged table " + t + " has " + n + " rows after a physical restore, which must empty it");
            }
        });
        sequenceDifferences(source.sequences(), restored.sequences(), true, replayedPast, problems);
        dumpDifferences(replayedPast ? Dumps.withoutSequenceValues(source.dump()) : source.dump(),
                replayedPast ? Dumps.withoutSequenceValues(restored.dump()) : restored.dump(), problems);
        return problems;
    }

    /**
     * How a logical restore of a database differs from the source's database at the backup's
     * snapshot; empty when it holds the same. pg_dump takes unlogged tables' rows and sequences'
     * values, so those must be equal too. Materialized views must be populated where they were,
     * but their rows are not compared: pg_restore refreshes them from the restored tables, which a
     * view last refreshed before later changes did not see.
     */
    public static List<String> logicalDifferences(State source, State restored) {
        List<String> problems = new ArrayList<>();
        contentDifferences(source.content(), restored.content(), problems);
        compare("index probes", source.probes(), restored.probes(), problems);
        compare("unlogged tables' row counts", source.unlogged(), restored.unlogged(), problems);
        compare("materialized views populated", populated(source.matviews()), populated(restored.matviews()), problems);
        sequenceDifferences(source.sequences(), restored.sequences(), false, false, problems);
        dumpDifferences(source.dump(), restored.dump(), problems);
        return problems;
    }

    private static Map<String, String> populated(Map<String, String> matviews) {
        Map<String, String> out = new TreeMap<>();
        matviews.forEach((k, v) -> out.put(k, v.equals("not populated") ? v : "populated"));
        return out;
    }

    private static void contentDifferences(Map<String, ContentChecksum.Result> source, Map<String, ContentChecksum.Result> restored,
                                           List<String> problems) {
        if (!source.keySet().equals(restored.keySet())) {
            problems.add("databases: the source has " + source.keySet() + ", the restore " + restored.keySet());
        }
        for (var e : source.entrySet()) {
            ContentChecksum.Result r = restored.get(e.getKey());
            if (r == null || r.equals(e.getValue())) {
                continue;
            }
            Map<String, String> want = new TreeMap<>();
            Map<String, String> got = new TreeMap<>();
            e.getValue().tables().forEach(t -> want.put(t.table(), t.rows() + " rows " + t.hash()));
            r.tables().forEach(t -> got.put(t.table(), t.rows() + " rows " + t.hash()));
            compare("content of database " + e.getKey(), want, got, problems);
        }
    }

    private static void sequenceDifferences(Map<String, Sequence> source, Map<String, Sequence> restored, boolean physical, boolean replayedPast,
                                            List<String> problems) {
        if (!source.keySet().equals(restored.keySet())) {
            problems.add("sequences: the source has " + source.keySet() + ", the restore " + restored.keySet());
        }
        for (var e : source.entrySet()) {
            Sequence want = e.getValue();
            Sequence got = restored.get(e.getKey());
            if (got == null) {
                continue;
            }
            boolean ok;
            String expected;
            if (physical && want.unlogged()) {
                ok = got.last() == null;
                expected = "unset (an unlogged sequence starts again after a physical restore)";
            } else if (replayedPast) {
                ok = want.reaches(got, 32);
                expected = want.last() + " or up to 32 values further";
            } else {
                ok = java.util.Objects.equals(want.last(), got.last());
                expected = String.valueOf(want.last());
            }
            if (!ok) {
                problems.add("sequence " + e.getKey() + ": " + got.last() + ", expected " + expected);
            }
        }
    }

    private static void dumpDifferences(String source, String restored, List<String> problems) {
        List<String> d = Dumps.differences(source, restored, 12);
        if (!d.isEmpty()) {
            problems.add("pg_dump: " + String.join("\n", d));
        }
    }

    private static void compare(String what, Map<String, String> source, Map<String, String> restored, List<String> problems) {
        if (source.equals(restored)) {
            return;
        }
        java.util.Set<String> keys = new java.util.TreeSet<>(source.keySet());
        keys.addAll(restored.keySet());
        List<String> diffs = new ArrayList<>();
        for (String k : keys) {
            if (!java.util.Objects.equals(source.get(k), restored.get(k))) {
                diffs.add(k + ": source " + source.get(k) + ", restore " + restored.get(k));
            }
        }
        problems.add(what + " differ: " + String.join("; ", diffs));
    }

    // ---- SQL helpers ----

    /** Runs each statement on its own (no transaction block: VACUUM, ALTER TYPE ... ADD VALUE) in the zoo's database {@code db}. */
    public void exec(String db, String... statements) throws SQLException {
        exec(cluster, db, statements);
    }

    /** Like {@link #exec(String, String...)}, in another cluster (a restored copy of the zoo). */
    public void exec(LocalCluster c, String db, String... statements) throws SQLException {
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(db)); Statement st = conn.createStatement()) {
            for (String s : statements) {
                try {
                    st.execute(s);
                } catch (SQLException e) {
                    throw new SQLException("in database " + db + ": " + s + ": " + e.getMessage(), e.getSQLState(), e);
                }
            }
        }
    }

    /** A quoted identifier. */
    public static String q(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    /** A string literal (standard_conforming_strings is on). */
    public static String lit(String value) {
        return "'" + value.replace("'", "''") + "'";
    }
}
