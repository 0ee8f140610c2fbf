package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgClient;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.it.LogicalSupport;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.Repository;

/**
 * The logical differential on the things a real schema has, through the command line: tables
 * whose columns were all dropped (that still have rows), large objects, the database's settings
 * and comment, materialized views, inherited tables, row-level security, and, in one database
 * with names that need quoting, partitions, an unlogged table, generated and identity columns,
 * sequences and a table without a primary key. Every restore is proven against the source at the
 * backup point: the rows of every table (unlogged ones too), the sequences, the large objects'
 * bytes and metadata, the settings and comment, which materialized views are populated, and
 * pg_dump's own schema output (pre- and post-data) of both databases.
 */
class LogicalRealSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static String port;
    static Path repo;
    static final Set<Integer> CODES = new HashSet<>();

    @BeforeAll
    static void setUp() {
        pg = new PgSupport(dir);
        a = pg.start("a", LogicalSupport.serverMajor());
        port = Integer.toString(PgSupport.conn(a).port());
        repo = dir.resolve("repo");
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            if (Files.exists(repo)) {
                assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
            }
            assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
        } finally {
            pg.close();
        }
    }

    @Test
    void diff_afterAOneRowUpdate_countsOneChangedRow_andATableWithoutColumnsKeepsItsRows() throws Exception {
        String db = "zero";
        sql("postgres", "CREATE DATABASE " + db);
        sql(db, "CREATE TABLE \"no columns\" (a int)",
                "INSERT INTO \"no columns\" VALUES (1), (2), (3)",
                "ALTER TABLE \"no columns\" DROP COLUMN a",
                "CREATE TABLE only_generated (x int GENERATED ALWAYS AS (2) STORED)",
                "INSERT INTO only_generated DEFAULT VALUES", "INSERT INTO only_generated DEFAULT VALUES",
                "CREATE TABLE keyed (id int PRIMARY KEY, v text)",
                "INSERT INTO keyed SELECT i, 'v' || i FROM generate_series(1, 100) i",
                "CREATE TABLE log (msg text)", "INSERT INTO log VALUES ('one'), ('two')");
        String full = backup(db, "full");
        State atFull = State.of(db);

        sql(db, "UPDATE keyed SET v = 'changed' WHERE id = 7");
        State atDiff1 = State.of(db);
        CliRun diff1 = ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db);
        String diff1Id = idOf(diff1);
        assertThat(diff1.out()).contains("(1 as changes: 1 rows changed, 0 deleted; 3 whole: 7 rows)");
        assertThat(atDiff1.rows().get("public.\"no columns\"")).startsWith("3 rows ");

        sql(db, "INSERT INTO \"no columns\" DEFAULT VALUES", "INSERT INTO \"no columns\" DEFAULT VALUES", "DELETE FROM keyed WHERE id = 8");
        State atDiff2 = State.of(db);
        JsonNode diff2 = JSON.readTree(ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db,
                "--json").out());
        assertThat(diff2.get("changedRows").asLong()).isEqualTo(1);
        assertThat(diff2.get("deletedRows").asLong()).isEqualTo(1);
        assertThat(diff2.get("wholeRows").asLong()).isEqualTo(5 + 2 + 2);

        CliRun r1 = ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff1Id, "--to-db", "zero_d1", "--port", port);
        assertThat(r1.out()).contains("1 changed rows and 0 deletes applied");
        State.of("zero_d1").assertSameAs(atDiff1);
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff2.get("id").asText(), "--to-db", "zero_d2", "--port", port);
        State.of("zero_d2").assertSameAs(atDiff2);
        assertThat(queryIn("zero_d2", "SELECT count(*) FROM \"no columns\"")).isEqualTo("5");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "zero_f", "--port", port);
        State.of("zero_f").assertSameAs(atFull);
    }

    @Test
    void diff_afterRulesTightenedOverOldRows_storesThoseTablesWhole_andRestores() throws Exception {
        // the full's rows are loaded into the differential's schema before its changes apply: a
        // NOT NULL, CHECK, enum label, domain or partition constraint changed since must not refuse them
        String db = "tightened";
        sql("postgres", "CREATE DATABASE " + db);
        sql(db, "CREATE TYPE mood AS ENUM ('sad', 'happy')", "CREATE DOMAIN posint AS int",
                "CREATE TABLE nn (id int PRIMARY KEY, v int)", "INSERT INTO nn VALUES (1, NULL), (2, 5)",
                "CREATE TABLE ck (id int PRIMARY KEY, v int)", "INSERT INTO ck VALUES (1, -1), (2, 5)",
                "CREATE TABLE en (id text PRIMARY KEY, m mood)", "INSERT INTO en VALUES ('a', 'sad'), ('b', 'happy')",
                "CREATE TABLE dm (id int PRIMARY KEY, v posint)", "INSERT INTO dm VALUES (1, -1), (2, 5)",
                "CREATE TABLE pt (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)",
                "CREATE TABLE p1 PARTITION OF pt FOR VALUES FROM (0) TO (10)", "CREATE TABLE p2 PARTITION OF pt FOR VALUES FROM (10) TO (20)",
                "INSERT INTO pt SELECT i, 'p' || i FROM generate_series(0, 19) i",
                "CREATE TABLE untouched (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0))",
                "INSERT INTO untouched SELECT i, i FROM generate_series(1, 10) i");
        backup(db, "full");
        sql(db, "UPDATE nn SET v = 0 WHERE v IS NULL", "ALTER TABLE nn ALTER v SET NOT NULL",
                "UPDATE ck SET v = 1 WHERE v < 0", "ALTER TABLE ck ADD CONSTRAINT positive CHECK (v > 0)",
                "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'",
                "UPDATE dm SET v = 1 WHERE v < 0", "ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0)",
                "DELETE FROM pt WHERE id BETWEEN 5 AND 9", "ALTER TABLE pt DETACH PARTITION p1",
                "ALTER TABLE pt ATTACH PARTITION p1 FOR VALUES FROM (0) TO (5)",
                "UPDATE untouched SET v = 100 WHERE id = 3");
        State atDiff = State.of(db);
        CliRun diff = ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db);
        assertThat(diff.out()).contains("(2 as changes: 1 rows changed, 0 deleted; 5 whole: 13 rows)");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", idOf(diff), "--to-db", "tightened_d", "--port", port);
        State.of("tightened_d").assertSameAs(atDiff);
    }

    @Test
    void restore_ofADifferential_keepsEveryLargeObject_changedOrNot() throws Exception {
        String db = "lobs";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"lo \"\"reader\"\" ü\"");
        sql(db, "CREATE TABLE docs (id int PRIMARY KEY, body oid)",
                "SELECT lo_from_bytea(1001, 'unchanged all along')",
                "SELECT lo_from_bytea(1002, 'to be changed')",
                "SELECT lo_from_bytea(1003, 'to be deleted')",
                // bigger than one read: 3.2 MB
                "SELECT lo_from_bytea(1004, (SELECT string_agg(decode(md5(i::text), 'hex'), ''::bytea ORDER BY i) FROM generate_series(1, 200000) i))",
                "INSERT INTO docs VALUES (1, 1001), (2, 1002), (3, 1003), (4, 1004)",
                "COMMENT ON LARGE OBJECT 1001 IS 'kept, with a comment'",
                "GRANT SELECT ON LARGE OBJECT 1001 TO \"lo \"\"reader\"\" ü\"");
        String full = backup(db, "full");
        State atFull = State.of(db);

        sql(db, "SELECT lo_put(1002, 0, 'CHANGED')",
                "SELECT lo_unlink(1003)", "DELETE FROM docs WHERE id = 3",
                "SELECT lo_put(1004, 2000000, 'a few bytes in the middle')",
                "SELECT lo_from_bytea(1005, 'new since the full')",
                "SELECT lo_create(1006)", // empty
                "COMMENT ON LARGE OBJECT 1002 IS 'changed later'",
                "INSERT INTO docs VALUES (5, 1005), (6, 1006)");
        State atDiff = State.of(db);
        JsonNode diff = JSON.readTree(ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db,
                "--json").out());
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff.get("id").asText(), "--to-db", "lobs_d", "--port", port);
        State.of("lobs_d").assertSameAs(atDiff);
        assertThat(diff.get("changedLargeObjects").asLong()).isEqualTo(4); // 1002, 1004 changed; 1005, 1006 new
        assertThat(diff.get("deletedLargeObjects").asLong()).isEqualTo(1);
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "lobs_f", "--port", port);
        State.of("lobs_f").assertSameAs(atFull);
    }

    @Test
    void restore_bringsBackTheDatabaseSettingsAndComment_orRefusesWhenARoleIsMissing() throws Exception {
        String db = "Réglages \"db\" ü";
        String q = ident(db);
        sql("postgres", "CREATE DATABASE " + q, "CREATE ROLE \"réglage \"\"role\"\"\"");
        sql(db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)",
                "ALTER DATABASE " + q + " SET work_mem = '7MB'",
                "ALTER DATABASE " + q + " SET search_path = \"$user\", public, \"we ird\"",
                "ALTER DATABASE " + q + " SET \"app.mode\" = 'it''s'",
                "ALTER ROLE \"réglage \"\"role\"\"\" IN DATABASE " + q + " SET statement_timeout = '5s'",
                "COMMENT ON DATABASE " + q + " IS 'the \"settings\" db — ünï, it''s'");
        String full = backup(db, "full");
        State atFull = State.of(db);
        assertThat(atFull.settings()).hasSize(2);

        sql(db, "ALTER DATABASE " + q + " SET work_mem = '8MB'", "ALTER DATABASE " + q + " RESET \"app.mode\"",
                "COMMENT ON DATABASE " + q + " IS 'changed'", "INSERT INTO t VALUES (3)");
        State atDiff = State.of(db);
        String diff = backup(db, "diff");

        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "set f", "--port", port);
        State.of("set f").assertSameAs(atFull);
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff, "--to-db", "set d", "--port", port);
        State.of("set d").assertSameAs(atDiff);

        // a role with settings in the database that the target server lacks: refused, or left out with --no-owner
        sql("postgres", "CREATE ROLE gone");
        sql(db, "ALTER ROLE gone IN DATABASE " + q + " SET work_mem = '1MB'");
        String withGone = backup(db, "diff");
        State atGone = State.of(db);
        sql("postgres", "DROP ROLE gone");
        CliRun refused = Refusals.expectFailure(CODES, ErrorCode.NOT_FOUND, "restore", "-q", "--logical", "--repo", repo.toString(),
                "--backup", withGone, "--to-db", "set g", "--port", port);
        assertThat(refused.err()).contains("role gone").contains("does not exist").contains("--no-owner");
        assertThat(LogicalSupport.databaseExists(a, "set g")).isFalse();
        CliRun noOwner = ok("restore", "--logical", "--repo", repo.toString(), "--backup", withGone, "--to-db", "set g", "--port", port,
                "--no-owner");
        assertThat(noOwner.out()).contains("role gone does not exist");
        State g = State.of("set g");
        assertThat(g.settings()).isEqualTo(atGone.settings().stream().filter(s -> !s.startsWith("gone:")).toList());
        assertThat(g.comment()).isEqualTo(atGone.comment());

        // a setting the restoring role may not give: refused before anything is restored
        sql("postgres", "CREATE ROLE restorer LOGIN CREATEDB");
        sql(db, "ALTER DATABASE " + q + " SET log_min_duration_statement = '1s'");
        String superuserOnly = backup(db, "diff");
        CliRun denied = Refusals.expectFailure(CODES, ErrorCode.SERVER, "restore", "-q", "--logical", "--repo", repo.toString(),
                "--backup", superuserOnly, "--to-db", "set s", "--port", port, "-U", "restorer", "--no-owner");
        assertThat(denied.err()).contains("cannot restore the setting log_min_duration_statement in database " + db)
                .contains("permission denied").contains("nothing was restored");
        assertThat(LogicalSupport.databaseExists(a, "set s")).isFalse();
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
    }

    @Test
    void restore_ofADifferential_populatesTheMaterializedViewsThatWerePopulated() throws Exception {
        String db = "views";
        sql("postgres", "CREATE DATABASE " + db);
        sql(db, "CREATE TABLE k (id int PRIMARY KEY, v int)", "INSERT INTO k SELECT i, i FROM generate_series(1, 100) i",
                "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(v) AS s FROM k",
                "CREATE UNIQUE INDEX ON totals (n)",
                "CREATE MATERIALIZED VIEW later AS SELECT id FROM k WITH NO DATA");
        backup(db, "full");
        sql(db, "UPDATE k SET v = v * 2 WHERE id <= 10", "REFRESH MATERIALIZED VIEW totals");
        State atDiff = State.of(db);
        String diff = backup(db, "diff");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff, "--to-db", "views_d", "--port", port);
        State restored = State.of("views_d");
        restored.assertSameAs(atDiff);
        assertThat(restored.matviews().get(0)).isEqualTo("public.later unpopulated");
        assertThat(restored.matviews().get(1)).startsWith("public.totals 1 rows ");
        assertThat(queryIn("views_d", "SELECT s FROM totals")).isEqualTo(queryIn(db, "SELECT s FROM totals"));
    }

    @Test
    void restore_ofADifferential_leavesTheRowsOfInheritingTablesAlone() throws Exception {
        String db = "inherit";
        sql("postgres", "CREATE DATABASE " + db);
        sql(db, "CREATE TABLE parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE child (PRIMARY KEY (id)) INHERITS (parent)",
                "INSERT INTO parent SELECT i, 'parent ' || i FROM generate_series(1, 10) i",
                "INSERT INTO child SELECT i, 'child ' || i FROM generate_series(1, 10) i");
        backup(db, "full");
        sql(db, "UPDATE ONLY parent SET v = 'updated' WHERE id = 1", "DELETE FROM ONLY parent WHERE id = 2");
        State atDiff = State.of(db);
        String diff = backup(db, "diff");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff, "--to-db", "inherit_d", "--port", port);
        State.of("inherit_d").assertSameAs(atDiff);
        assertThat(queryIn("inherit_d", "SELECT count(*) FROM ONLY child")).isEqualTo("10");
    }

    @Test
    void backup_asARoleThatRowLevelSecurityFilters_isRefused_ratherThanRecordingHiddenRowsAsDeleted() throws Exception {
        String db = "rls";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"backup \"\"bob\"\"\" LOGIN");
        sql(db, "CREATE TABLE private (id int PRIMARY KEY, owner text)",
                "INSERT INTO private VALUES (1, 'postgres'), (2, 'backup \"bob\"')",
                "ALTER TABLE private ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY mine ON private USING (owner = current_user)",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"backup \"\"bob\"\"\"");
        backup(db, "full");
        Set<String> before = logicalIds();
        CliRun run = Refusals.expectFailure(CODES, ErrorCode.SERVER_SETTING, "backup", "-q", "--logical", "--repo", repo.toString(),
                "--type", "diff", "--port", port, "-d", db, "-U", "backup \"bob\"");
        assertThat(run.err()).contains("row-level security").contains("public.private").contains("BYPASSRLS");
        assertThat(logicalIds()).isEqualTo(before);
        // the table's owner (here a superuser) sees every row, and the differential records no delete
        JsonNode diff = JSON.readTree(ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db,
                "--json").out());
        assertThat(diff.get("deletedRows").asLong()).isZero();
    }

    @Test
    void backup_asARoleThatIsNotASuperuser_ofADatabaseWithSubscriptions_isRefused_ratherThanLeavingThemOut() throws Exception {
        // pg_dump leaves out the subscriptions of a role that is not a superuser, with only a warning and exit 0
        String db = "subs";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"sub reader\" LOGIN IN ROLE pg_read_all_data");
        sql(db, "CREATE TABLE k (id int PRIMARY KEY, v text)", "INSERT INTO k SELECT i, 'v' || i FROM generate_series(1, 10) i",
                "CREATE SUBSCRIPTION \"sub one\" CONNECTION 'dbname=nowhere' PUBLICATION p"
                        + " WITH (connect = false, enabled = false, slot_name = NONE, create_slot = false)");
        Set<String> before = logicalIds();
        CliRun run = Refusals.expectFailure(CODES, ErrorCode.SERVER_SETTING, "backup", "-q", "--logical", "--repo", repo.toString(),
                "--type", "full", "--port", port, "-d", db, "-U", "sub reader");
        assertThat(run.err()).contains("subscription").contains("sub one").contains("superuser");
        assertThat(logicalIds()).isEqualTo(before);
        // a superuser's backup keeps it, and the restore brings it back
        State atFull = State.of(db);
        String full = backup(db, "full");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "subs_f", "--port", port);
        State.of("subs_f").assertSameAs(atFull);
        assertThat(queryIn("subs_f", "SELECT string_agg(subname, ',') FROM pg_subscription WHERE subdbid = "
                + "(SELECT oid FROM pg_database WHERE datname = current_database())")).isEqualTo("sub one");
    }

    @Test
    void backup_asARoleThatCannotSeeUserMappingOptions_isRefused_ratherThanDumpingMappingsWithoutThem() throws Exception {
        // pg_user_mappings shows the options (user, password) only to the mapped role, the server's owner or a superuser:
        // pg_dump run as another role writes the mapping without them, and exits 0
        String db = "mappings";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"map reader\" LOGIN IN ROLE pg_read_all_data");
        sql(db, "CREATE TABLE k (id int PRIMARY KEY)", "INSERT INTO k VALUES (1)",
                "CREATE FOREIGN DATA WRAPPER w", "CREATE SERVER \"far srv\" FOREIGN DATA WRAPPER w OPTIONS (host 'far')",
                "CREATE USER MAPPING FOR postgres SERVER \"far srv\" OPTIONS (user 'remote', password 'secret')");
        Set<String> before = logicalIds();
        CliRun run = Refusals.expectFailure(CODES, ErrorCode.SERVER_SETTING, "backup", "-q", "--logical", "--repo", repo.toString(),
                "--type", "full", "--port", port, "-d", db, "-U", "map reader");
        assertThat(run.err()).contains("user mapping").contains("far srv").contains("superuser");
        assertThat(logicalIds()).isEqualTo(before);
        State atFull = State.of(db);
        String full = backup(db, "full");
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "mappings_f", "--port", port);
        State.of("mappings_f").assertSameAs(atFull);
        String options = "SELECT string_agg(o, ',' ORDER BY o) FROM pg_user_mappings, unnest(umoptions) o WHERE srvname = 'far srv'";
        assertThat(queryIn("mappings_f", options)).isEqualTo("password=secret,user=remote").isEqualTo(queryIn(db, options));
    }

    @Test
    void backupAndRestore_asARoleThatLacksAPrivilege_failInOneLineThatSaysWhatToGrant() throws Exception {
        String db = "privs";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"no reader\" LOGIN");
        sql(db, "CREATE TABLE k (id int PRIMARY KEY)", "INSERT INTO k VALUES (1)", "CREATE TABLE closed (id int PRIMARY KEY)",
                "GRANT SELECT ON k TO \"no reader\"", "GRANT SELECT (id) ON closed TO \"no reader\"");
        Set<String> before = logicalIds();
        // column privileges on every column are not the table's: pg_dump's lock needs SELECT on the table
        CliRun backup = Refusals.expectFailure(CODES, ErrorCode.SERVER, "backup", "-q", "--logical", "--repo", repo.toString(),
                "--type", "full", "--port", port, "-d", db, "-U", "no reader");
        assertThat(backup.err()).contains("permission denied for table closed").contains("grant").doesNotContain("see the server log");
        assertThat(logicalIds()).isEqualTo(before);
        String full = backup(db, "full");
        CliRun restore = Refusals.expectFailure(CODES, ErrorCode.SERVER, "restore", "-q", "--logical", "--repo", repo.toString(),
                "--backup", full, "--to-db", "privs_r", "--port", port, "-U", "no reader", "--no-owner", "--no-privileges");
        assertThat(restore.err()).contains("permission denied to create database").contains("CREATEDB").doesNotContain("see the server log");
        assertThat(queryIn("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'privs_r'")).isEqualTo("0");
        // replacing a database that another role owns: refused before anything is restored, and the database is left as it was
        sql("postgres", "CREATE ROLE \"privs restorer\" LOGIN CREATEDB");
        CliRun clean = Refusals.expectFailure(CODES, ErrorCode.SERVER, "restore", "-q", "--logical", "--repo", repo.toString(),
                "--backup", full, "--to-db", db, "--clean", "--port", port, "-U", "privs restorer", "--no-owner", "--no-privileges");
        assertThat(clean.err()).contains("database privs on ").contains("is owned by role postgres").contains("nothing was restored")
                .contains("restore as its owner").doesNotContain("GRANT");
        assertThat(queryIn(db, "SELECT count(*) FROM k")).isEqualTo("1");
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
    }

    @Test
    void backup_asTheOwnerOfATableWithForcedRowLevelSecurity_isRefused_withAHintThatDoesNotSendItBackToTheOwner() throws Exception {
        String db = "forced";
        sql("postgres", "CREATE DATABASE " + db, "CREATE ROLE \"forced owner\" LOGIN");
        sql(db, "CREATE TABLE mine (id int PRIMARY KEY, shown bool)", "INSERT INTO mine VALUES (1, true), (2, false)",
                "ALTER TABLE mine OWNER TO \"forced owner\"", "ALTER TABLE mine ENABLE ROW LEVEL SECURITY",
                "ALTER TABLE mine FORCE ROW LEVEL SECURITY", "CREATE POLICY shown ON mine USING (shown)");
        Set<String> before = logicalIds();
        CliRun run = Refusals.expectFailure(CODES, ErrorCode.SERVER_SETTING, "backup", "-q", "--logical", "--repo", repo.toString(),
                "--type", "full", "--port", port, "-d", db, "-U", "forced owner");
        assertThat(run.err()).contains("public.mine").contains("FORCE ROW LEVEL SECURITY").contains("BYPASSRLS");
        assertThat(logicalIds()).isEqualTo(before);
    }

    @Test
    void restore_ofADifferentialOfAQuotedRealSchema_matchesPgDumpOfTheSource() throws Exception {
        String db = "Lädchen \"real\" ü";
        String q = ident(db);
        String s = "\"Schéma \"\"x\"\" y\"";
        sql("postgres", "CREATE DATABASE " + q);
        sql(db, "CREATE SCHEMA " + s,
                "CREATE TABLE " + s + ".\"Tä \"\"ble\"\"\" (id int PRIMARY KEY, \"wört\" text)",
                "INSERT INTO " + s + ".\"Tä \"\"ble\"\"\" SELECT i, 'w' || i FROM generate_series(1, 50) i",
                "CREATE TABLE " + s + ".events (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE " + s + ".\"events 2020\" PARTITION OF " + s + ".events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')",
                "CREATE TABLE " + s + ".\"events 2021\" PARTITION OF " + s + ".events FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
                "INSERT INTO " + s + ".events SELECT i, date '2020-01-01' + i * 30, 'e' || i FROM generate_series(1, 20) i",
                "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY, v text)",
                "INSERT INTO scratch SELECT i, 's' || i FROM generate_series(1, 10) i",
                "CREATE TABLE measures (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x int, twice int GENERATED ALWAYS AS (x * 2) STORED)",
                "INSERT INTO measures (x) SELECT i FROM generate_series(1, 10) i",
                "CREATE TABLE orders (id int PRIMARY KEY, measure int REFERENCES measures (id))",
                "INSERT INTO orders VALUES (1, 1), (2, 2)",
                "CREATE TABLE notes (body text)", "INSERT INTO notes VALUES ('a'), ('b')",
                "CREATE TABLE nothing (a int)", "INSERT INTO nothing VALUES (1)", "ALTER TABLE nothing DROP COLUMN a",
                "CREATE SEQUENCE " + s + ".\"counter ü\"",
                "SELECT nextval('" + s.replace("'", "''") + ".\"counter ü\"')",
                "CREATE MATERIALIZED VIEW " + s + ".summary AS SELECT count(*) AS n FROM " + s + ".events",
                "SELECT lo_from_bytea(2001, 'kept')", "SELECT lo_from_bytea(2002, 'changes')",
                "ALTER DATABASE " + q + " SET work_mem = '9MB'",
                "COMMENT ON DATABASE " + q + " IS 'real'");
        String full = backup(db, "full");
        State atFull = State.of(db);

        sql(db, "UPDATE " + s + ".\"Tä \"\"ble\"\"\" SET \"wört\" = E'tab\\there' WHERE id = 1",
                "DELETE FROM " + s + ".\"Tä \"\"ble\"\"\" WHERE id = 2",
                "INSERT INTO " + s + ".\"Tä \"\"ble\"\"\" VALUES (51, 'ünïcödé')",
                "UPDATE " + s + ".events SET at = date '2021-06-01' WHERE id = 1", // moves to the other partition
                "UPDATE scratch SET v = 'changed' WHERE id = 3",
                "INSERT INTO measures (x) VALUES (100), (200)",
                "INSERT INTO notes VALUES ('c')",
                "INSERT INTO nothing DEFAULT VALUES",
                "SELECT nextval('" + s.replace("'", "''") + ".\"counter ü\"')",
                "SELECT lo_put(2002, 0, 'CHANGED')",
                "REFRESH MATERIALIZED VIEW " + s + ".summary",
                "ALTER DATABASE " + q + " SET work_mem = '10MB'");
        State atDiff = State.of(db);
        JsonNode diff = JSON.readTree(ok("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", port, "-d", db,
                "--json").out());
        // 2 + 1 in "Tä ""ble""" and the partitions, 1 in scratch, 2 in measures; deletes: 1 + 1
        assertThat(diff.get("changedRows").asLong()).isEqualTo(2 + 1 + 1 + 2);
        assertThat(diff.get("deletedRows").asLong()).isEqualTo(1 + 1);
        assertThat(diff.get("changedLargeObjects").asLong()).isEqualTo(1);

        ok("restore", "--logical", "--repo", repo.toString(), "--backup", diff.get("id").asText(), "--to-db", "real \"d\"", "--port", port);
        State.of("real \"d\"").assertSameAs(atDiff);
        ok("restore", "--logical", "--repo", repo.toString(), "--backup", full, "--to-db", "real \"f\"", "--port", port);
        State.of("real \"f\"").assertSameAs(atFull);
    }

    @Test
    void backupsOfAnOlderPgstrata_stillRestore_andSayWhatTheyLeaveOut() throws Exception {
        String db = "olden";
        Path old = dir.resolve("repo-old");
        sql("postgres", "CREATE DATABASE " + db);
        sql(db, "CREATE TABLE k (id int PRIMARY KEY, v text)", "INSERT INTO k SELECT i, 'v' || i FROM generate_series(1, 20) i",
                "CREATE TABLE log (msg text)", "INSERT INTO log VALUES ('one')",
                "CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM k",
                "SELECT lo_from_bytea(3001, 'stays')", "SELECT lo_from_bytea(3002, 'changes')",
                "ALTER DATABASE " + db + " SET work_mem = '6MB'", "COMMENT ON DATABASE " + db + " IS 'olden'");
        String full = idOf(ok("backup", "--logical", "--repo", old.toString(), "--type", "full", "--port", port, "-d", db));
        asIfOlder(old, full);

        sql(db, "UPDATE k SET v = 'new' WHERE id = 3", "SELECT lo_put(3002, 0, 'CHANGED')", "SELECT lo_from_bytea(3003, 'new')");
        State atDiff = State.of(db);
        JsonNode diff = JSON.readTree(ok("backup", "--logical", "--repo", old.toString(), "--type", "diff", "--port", port, "-d", db,
                "--json").out());
        // the full has no index of the large objects: the differential carries all three
        assertThat(diff.get("changedLargeObjects").asLong()).isEqualTo(3);
        assertThat(diff.get("changedRows").asLong()).isEqualTo(1);
        String diffId = diff.get("id").asText();
        CliRun onOldFull = ok("restore", "--logical", "--repo", old.toString(), "--backup", diffId, "--to-db", "olden_1", "--port", port);
        assertThat(onOldFull.out()).doesNotContain("warning");
        State.of("olden_1").assertSameAs(atDiff);

        // a differential as an older pgstrata wrote it: it restores its rows, and says what it cannot vouch for
        asIfOlder(old, diffId);
        CliRun older = ok("restore", "--logical", "--repo", old.toString(), "--backup", diffId, "--to-db", "olden_2", "--port", port);
        assertThat(older.out()).contains("did not record the settings and comment of database olden: they are not restored")
                .contains("the large objects are not restored: differential " + diffId)
                .contains("materialized views public mv may be left unpopulated");
        State restored = State.of("olden_2");
        assertThat(restored.rows()).isEqualTo(atDiff.rows());
        assertThat(restored.content()).isEqualTo(atDiff.content());
        assertThat(restored.sequences()).isEqualTo(atDiff.sequences());
        assertThat(PgSupport.facade().verify(old.toString(), null).problems()).isEmpty();
    }

    /** Rewrites a logical manifest without what this version added, as an older pgstrata wrote it (its new objects stay, unread). */
    private static void asIfOlder(Path repoPath, String id) {
        try (Repository r = Repository.open(repoPath.toString())) {
            LogicalManifest m = r.logicalManifest(id);
            List<LogicalManifest.LogicalTable> tables = m.tables().stream().map(t -> new LogicalManifest.LogicalTable(t.schema(), t.name(),
                    t.columns(), t.key(), t.mode(), t.reason(), t.rows(), t.keyIndex(), t.rowsObject(), t.changedRows(), t.deletes(),
                    t.deletedRows(), t.indexes(), t.ownedSequences(), t.rowFormat(), null, null)).toList();
            r.writeLogicalManifest(new LogicalManifest(m.formatVersion(), m.id(), m.type(), m.reference(), m.systemIdentifier(),
                    m.pgVersionNum(), m.serverVersion(), m.pgDumpVersion(), m.database(), m.snapshotLsn(), m.snapshotTime(), m.startTime(),
                    m.stopTime(), m.compression(), m.dumpFormat(), m.dump(), tables, m.sequences(), m.repositoryBytes(), m.pgstrataVersion(),
                    null, null, null, null, null));
        }
    }

    // ---- helpers

    /** A name as a quoted SQL identifier. */
    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static void sql(String db, String... statements) throws Exception {
        LogicalSupport.sql(a, db, statements);
    }

    private static String queryIn(String db, String query) throws Exception {
        try (Connection c = Db.connect(LogicalSupport.conn(a, db))) {
            return Db.queryString(c, query);
        }
    }

    private static CliRun ok(String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r.out() + r.err()).isZero();
        return r;
    }

    /** A logical backup of {@code db} through the command line; its id. */
    private static String backup(String db, String type) {
        return idOf(ok("backup", "--logical", "--repo", repo.toString(), "--type", type, "--port", port, "-d", db));
    }

    private static String idOf(CliRun backup) {
        String line = backup.out().lines().filter(l -> l.startsWith("logical backup ")).findFirst().orElseThrow();
        return line.split(" ")[2];
    }

    private static Set<String> logicalIds() {
        try (Repository r = Repository.open(repo.toString())) {
            return r.logicalIds();
        }
    }

    /**
     * What a database holds, as the proof of a restore compares it: each table's row count and
     * hash (unlogged tables and tables without columns too), the content proof of DESIGN.md, the
     * sequences, the large objects (bytes, owner, comment, privileges), the database's settings
     * and comment, the materialized views (populated or not, and their rows), and pg_dump's
     * pre- and post-data output.
     */
    record State(Map<String, String> rows, ContentChecksum.Result content, Map<String, String> sequences, List<String> largeObjects,
                 List<String> settings, String comment, List<String> matviews, String schema) {

        static State of(String db) throws Exception {
            try (Connection c = Db.connect(LogicalSupport.conn(a, db))) {
                Map<String, String> rows = new TreeMap<>();
                for (String t : strings(c, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' ORDER BY 1")) {
                    rows.put(t, String.join(" ", strings(c, "SELECT count(*) || ' rows ' || coalesce(md5(string_agg(t::text, E'\\n' "
                            + "ORDER BY t::text COLLATE \"C\")), '-') FROM ONLY " + t + " t")));
                }
                List<String> matviews = new ArrayList<>();
                for (String m : strings(c, "SELECT format('%I.%I', n.nspname, c.relname) || ' ' || c.relispopulated FROM pg_class c "
                        + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' ORDER BY 1")) {
                    String name = m.substring(0, m.lastIndexOf(' '));
                    matviews.add(m.endsWith(" true") ? name + " " + String.join("", strings(c, "SELECT count(*) || ' rows ' || "
                            + "coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\")), '-') FROM " + name + " t"))
                            : name + " unpopulated");
                }
                return new State(rows, ContentChecksum.compute(c), LogicalSupport.sequences(a, db),
                        strings(c, "SELECT m.oid || ' ' || md5(lo_get(m.oid)) || ' ' || pg_get_userbyid(m.lomowner) || ' ' "
                                + "|| coalesce(obj_description(m.oid, 'pg_largeobject'), '-') || ' ' || coalesce(m.lomacl::text, '-') "
                                + "FROM pg_largeobject_metadata m ORDER BY m.oid"),
                        strings(c, "SELECT coalesce(r.rolname, '*') || ': ' || array_to_string(s.setconfig, ' | ') FROM pg_db_role_setting s "
                                + "LEFT JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase "
                                + "WHERE d.datname = current_database() ORDER BY 1"),
                        Db.queryString(c, "SELECT coalesce(shobj_description(oid, 'pg_database'), '-') FROM pg_database WHERE datname = current_database()"),
                        matviews, schemaDump(db));
            }
        }

        void assertSameAs(State source) {
            assertThat(rows).as("rows of each table").isEqualTo(source.rows);
            assertThat(content).as("content proof").isEqualTo(source.content);
            assertThat(sequences).as("sequences").isEqualTo(source.sequences);
            assertThat(largeObjects).as("large objects").isEqualTo(source.largeObjects);
            assertThat(settings).as("database settings").isEqualTo(source.settings);
            assertThat(comment).as("database comment").isEqualTo(source.comment);
            assertThat(matviews).as("materialized views").isEqualTo(source.matviews);
            assertThat(schema).as("pg_dump --section=pre-data --section=post-data").isEqualTo(source.schema);
        }

        private static List<String> strings(Connection c, String query) throws Exception {
            List<String> out = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(query)) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }

        /** pg_dump's schema (with large objects' definitions and materialized views' refreshes), without its per-run lines. */
        private static String schemaDump(String db) throws Exception {
            PgClient pgDump = LogicalSupport.pgDump();
            Path out = Files.createTempFile(dir, "schema-", ".sql");
            ProcessBuilder pb = new ProcessBuilder(pgDump.program().toString(), "--section=pre-data", "--section=post-data", "--no-password",
                    "--file=" + out).redirectErrorStream(true).redirectOutput(dir.resolve("pg_dump.log").toFile());
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().putAll(PgClient.libpqEnv(LogicalSupport.conn(a, db), Map.of()));
            Process p = pb.start();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(dir.resolve("pg_dump.log"))).isZero();
            StringBuilder kept = new StringBuilder();
            for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
                if (!line.startsWith("\\restrict") && !line.startsWith("\\unrestrict") && !line.startsWith("-- Dumped ")) {
                    kept.append(line).append('\n');
                }
            }
            Files.delete(out);
            return kept.toString();
        }
    }
}
