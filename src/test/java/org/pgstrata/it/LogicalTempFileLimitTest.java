package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

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
    /** LogicalSupport.proof, whose own sort of the rows the limit would stop too. */
    private static ContentChecksum.Result proof(LocalCluster c, String db) throws Exception {
        try (java.sql.Connection conn = org.pgstrata.db.Db.connect(LogicalSupport.conn(c, db))) {
            org.pgstrata.db.Db.execute(conn, "SET temp_file_limit = -1");
            return ContentChecksum.compute(conn);
        }
    }

    @Test
    void aTextKeyedTableLargerThanTempFileLimit_isBackedUpLogically() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE big (k text PRIMARY KEY, v text)",
                "INSERT INTO big SELECT md5(g::text), repeat('x', 50) FROM generate_series(1, 200000) g",
                "ALTER SYSTEM SET temp_file_limit = '1MB'", "SELECT pg_reload_conf()");
        assertThat(PgSupport.queryString(server, "SELECT reset_val FROM pg_settings WHERE name = 'temp_file_limit'")).isEqualTo("1024");
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();
        ContentChecksum.Result atFull = proof(server, "postgres");
        PgSupport.sql(server, "UPDATE big SET v = 'changed' WHERE k LIKE '0%'", "DELETE FROM big WHERE k LIKE '1%'",
                "INSERT INTO big SELECT 'new' || g, 'n' FROM generate_series(1, 100) g");
        String diff = CliBackups.logicalBackup(repo, server, "postgres", "diff").get("id").asText();
        ContentChecksum.Result atDiff = proof(server, "postgres");
        assertThat(atDiff).isNotEqualTo(atFull);
        // pg_restore's index builds sort too, under the target's limit as with any pg_dump: restored without one
        PgSupport.sql(server, "ALTER SYSTEM RESET temp_file_limit", "SELECT pg_reload_conf()");

        for (Object[] restore : new Object[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", (String) restore[0], "--port",
                    CliBackups.port(server), "--to-db", (String) restore[1]);
            assertThat(r.exitCode()).as(restore[1] + ": " + r.err()).isZero();
            assertThat(proof(server, (String) restore[1])).as((String) restore[1]).isEqualTo(restore[2]);
        }
        PgSupport.sql(server, "CREATE DATABASE other");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", "big");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(proof(server, "other")).isEqualTo(atDiff);
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
