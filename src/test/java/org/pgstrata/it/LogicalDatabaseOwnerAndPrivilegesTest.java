package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A whole database restored from a logical full or differential gets the owner, the privileges
 * (a database closed to PUBLIC stays closed) and the connection limit of the one backed up, as
 * pg_restore --create would give it; --no-owner and --no-privileges leave them out.
 */
class LogicalDatabaseOwnerAndPrivilegesTest extends PgTest {
    private static final String SHAPE = "SELECT datdba::regrole::text || ' ' || coalesce(datacl::text, 'default') || ' ' || datconnlimit"
            + " FROM pg_database WHERE datname = '%s'";

    @Test
    void restoredDatabaseKeepsOwnerPrivilegesAndConnectionLimit() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE ROLE app LOGIN", "CREATE ROLE reporting", "CREATE DATABASE shop OWNER app CONNECTION LIMIT 7",
                "REVOKE ALL ON DATABASE shop FROM PUBLIC", "GRANT CONNECT ON DATABASE shop TO reporting WITH GRANT OPTION");
        LogicalSupport.sql(server, "shop", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 10)");
        String expected = PgSupport.queryString(server, String.format(SHAPE, "shop"));
        assertThat(expected).startsWith("app {").contains("reporting=c*/app").endsWith(" 7");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();
        LogicalSupport.sql(server, "shop", "INSERT INTO t VALUES (11)");
        String diff = CliBackups.logicalBackup(repo, server, "shop", "diff").get("id").asText();

        for (String id : new String[] {full, diff}) {
            String db = "copy_" + (id.equals(full) ? "full" : "diff");
            CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(server), "--to-db", db);
            assertThat(PgSupport.queryString(server, String.format(SHAPE, db))).as("owner, privileges and limit of %s", db)
                    .isEqualTo(expected);
        }
        CliBackups.ok("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server), "--to-db", "loose",
                "--no-owner", "--no-privileges");
        assertThat(PgSupport.queryString(server, String.format(SHAPE, "loose"))).isEqualTo("postgres default 7");

        PgSupport.sql(server, "DROP DATABASE shop", "DROP DATABASE copy_full", "DROP DATABASE copy_diff", "DROP ROLE reporting");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server),
                "--to-db", "refused");
        assertThat(r.exitCode()).as("restore naming a missing grantee said: %s", r.err().strip()).isEqualTo(17);
        assertThat(r.err()).contains("reporting").contains("--no-privileges");
        assertThat(LogicalSupport.databaseExists(server, "refused")).isFalse();
    }
}
