package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A logical backup reads each table with a usable primary key in key order, to build the key
 * index that a differential compares; a text key is ordered COLLATE "C", which no index of the
 * table serves, so the server sorts the rows, in temporary files once they pass work_mem. A
 * server with temp_file_limit in postgresql.conf (a guard against runaway queries) failed the
 * backup of any such table larger than the limit, exit 19, "temporary file size exceeds
 * temp_file_limit", where pg_dump, which does not sort, copies it. The backup's sessions lift the
 * limit where the role may (a superuser, or on 15 and later a role granted SET on it).
 */
class LogicalTempFileLimitTest extends PgTest {
    @Test
    void aTextKeyedTableLargerThanTempFileLimit_isBackedUpLogically() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE big (k text PRIMARY KEY, v text)",
                "INSERT INTO big SELECT md5(g::text), repeat('x', 50) FROM generate_series(1, 200000) g",
                "ALTER SYSTEM SET temp_file_limit = '1MB'", "SELECT pg_reload_conf()");
        // pg_restore's index builds sort too, under the target's limit as with any pg_dump: restored without one
        LogicalSupport.roundTripUnder(server, repo, "temp_file_limit", "1024", "big", java.util.List.of(
                "UPDATE big SET v = 'changed' WHERE k LIKE '0%'", "DELETE FROM big WHERE k LIKE '1%'",
                "INSERT INTO big SELECT 'new' || g, 'n' FROM generate_series(1, 100) g"),
                java.util.List.of("ALTER SYSTEM RESET temp_file_limit", "SELECT pg_reload_conf()"));
    }

    @Test
    void aRoleThatMayNotLiftTempFileLimit_isToldWhatToDo() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE big (k text PRIMARY KEY, v text)",
                "INSERT INTO big SELECT md5(g::text), repeat('x', 50) FROM generate_series(1, 200000) g",
                "CREATE ROLE reader LOGIN IN ROLE pg_read_all_data", "GRANT CREATE ON DATABASE postgres TO reader",
                "ALTER SYSTEM SET temp_file_limit = '1MB'", "SELECT pg_reload_conf()");
        CliRun r = CliRun.run("backup", "-q", "--logical", "--repo", repo.toString(), "--port", CliBackups.port(server), "--user", "reader",
                "--dbname", "postgres", "--type", "full");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
        assertThat(r.err()).contains("temp_file_limit").contains("GRANT SET ON PARAMETER temp_file_limit");
    }
}
