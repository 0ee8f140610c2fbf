package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A drill of a sound backup passes whatever the source made of amcheck and of its databases'
 * defaults: amcheck installed in a schema of its own (off the search_path), an old amcheck
 * (1.0, as a cluster upgraded from PostgreSQL 10 keeps it: no verify_heapam), a database whose
 * transactions are read-only by default, one whose search_path is empty, one with an event
 * trigger that refuses DDL. Before, each of these
 * made the drill of a healthy backup FAILED (exit 49, recorded, "do not rely on this backup"),
 * and the empty search_path stopped the checks of every database after it.
 */
class DrillAmcheckAsFoundTest {
    private static final int MAJOR = LogicalSupport.serverMajor();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static String backup;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null));
        source.start();
        PgSupport.sql(source, "CREATE SCHEMA ext", "CREATE EXTENSION amcheck SCHEMA ext",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) i",
                "CREATE DATABASE a_empty_path", "ALTER DATABASE a_empty_path SET search_path = ''",
                "CREATE DATABASE b_old_amcheck", "CREATE DATABASE c_read_only", "ALTER DATABASE c_read_only SET default_transaction_read_only = on",
                "CREATE DATABASE d_no_ddl");
        try (java.sql.Connection c = Db.connect(LogicalSupport.conn(source, "b_old_amcheck"))) {
            for (String sql : new String[] {"CREATE EXTENSION amcheck VERSION '1.0'", "CREATE TABLE u (id int PRIMARY KEY)",
                    "INSERT INTO u SELECT generate_series(1, 100)"}) {
                Db.execute(c, sql);
            }
        }
        try (java.sql.Connection c = Db.connect(LogicalSupport.conn(source, "d_no_ddl"))) {
            for (String sql : new String[] {"CREATE FUNCTION no_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'no DDL here'; END$$",
                    "CREATE EVENT TRIGGER no_ddl ON ddl_command_start EXECUTE FUNCTION no_ddl()"}) {
                Db.execute(c, sql);
            }
        }
        backup = CliBackups.backupId(repo, source, "full");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void aSoundBackup_passesItsDrill_whateverTheSourceMadeOfAmcheck() throws Exception {
        Path scratch = dir.resolve("scratch");
        CliRun r = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", scratch.toString(), "--backup", backup, "--json");
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("findings")).as(r.out()).isEmpty();
        assertThat(j.get("result").asText()).isEqualTo("passed");
        // postgres, template1 and the four above: every one checked, and t's and u's rows read
        assertThat(j.get("databases").asInt()).as(r.out()).isEqualTo(6);
        assertThat(j.get("rows").asLong()).as(r.out()).isGreaterThanOrEqualTo(1100);
        try (Stream<Path> s = Files.list(scratch)) {
            assertThat(s.toList()).as("the drill removes its copy").isEmpty();
        }
    }
}
