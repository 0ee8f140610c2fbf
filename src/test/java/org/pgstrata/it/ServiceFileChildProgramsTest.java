package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * libpq reads a connection service (PGSERVICE) before the environment: its host and port beat
 * PGHOST and PGPORT. pgstrata's own sessions connect where --host and --port say, and it refuses
 * PGSERVICE only while the service would decide something for them; but pg_restore, psql and
 * pg_dump inherited PGSERVICE beside the PGHOST and PGPORT pgstrata gave them. A table restore
 * into a scratch server, with PGSERVICE=prod left in the shell, wrote the table into prod's
 * database of the same name, and reported it restored, exit 0.
 */
class ServiceFileChildProgramsTest extends PgTest {

    @Test
    void logicalTableRestore_landsOnTheServerTheCommandLineNames_notTheServices() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster prod = pg.start("prod", major);
        LocalCluster scratch = pg.start("scratch", major);
        Path repo = dir.resolve("repo");
        PgSupport.sql(prod, "CREATE DATABASE shop");
        LogicalSupport.sql(prod, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g");
        CliBackups.logicalBackup(repo, prod, "shop", "full");
        String atBackup = query(prod, "shop", "SELECT string_agg(t::text, '|' ORDER BY id) FROM t");
        LogicalSupport.sql(prod, "shop", "DROP TABLE t"); // prod lost it; the user restores it into a scratch server to look at first
        PgSupport.sql(scratch, "CREATE DATABASE shop");

        Path services = dir.resolve("pg_service.conf");
        Files.writeString(services, "[prod]\nhost=127.0.0.1\nport=" + PgSupport.conn(prod).port() + "\n");
        ChildCli.Finished r = ChildCli.run(Map.of("PGSERVICE", "prod", "PGSERVICEFILE", services.toString()), List.of(), 180,
                "restore", "-q", "--logical", "--repo", repo.toString(), "--table", "t", "--to-db", "shop",
                "--host", "127.0.0.1", "--port", CliBackups.port(scratch), "--user", "postgres");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(query(prod, "shop", "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("tables named t on prod").isEqualTo("0");
        assertThat(query(scratch, "shop", "SELECT string_agg(t::text, '|' ORDER BY id) FROM t")).isEqualTo(atBackup);
    }
}
