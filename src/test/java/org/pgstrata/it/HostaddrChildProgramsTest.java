package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * libpq connects to PGHOSTADDR whatever PGHOST says (the host name is then only for the password
 * file and certificates). pgstrata's own sessions do not read it, but pg_restore and psql
 * inherited it beside the PGHOST pgstrata gave them: a table restore into a server on a socket
 * directory went over TCP to the address PGHOSTADDR named, another server on the same port, and
 * was reported restored, exit 0. A PGHOSTADDR other than the host is now refused before anything
 * is done (and the client programs never see it).
 */
class HostaddrChildProgramsTest extends PgTest {

    @Test
    void logicalTableRestore_withPGHOSTADDRElsewhere_isRefused_andTouchesNeitherServer() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster prod = pg.start("prod", major); // TCP on 127.0.0.1 only
        int port = PgSupport.conn(prod).port();
        Path socketDir = dir.resolve("sock");
        Files.createDirectories(socketDir);
        // The same port, on a socket directory only
        LocalCluster scratch = pg.track(LocalCluster.init(dir.resolve("scratch"), PgBinaries.resolve(null, major, PgSupport.env()),
                new LocalCluster.InitOptions(port, "listen_addresses = ''\nunix_socket_directories = '" + socketDir + "'\n")));
        scratch.start(port);
        ConnectionSettings scratchShop = new ConnectionSettings(socketDir.toString(), port, "postgres", "shop", null);

        Path repo = dir.resolve("repo");
        PgSupport.sql(prod, "CREATE DATABASE shop");
        LogicalSupport.sql(prod, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g");
        CliBackups.logicalBackup(repo, prod, "shop", "full");
        String atBackup = query(LogicalSupport.conn(prod, "shop"), "SELECT string_agg(t::text, '|' ORDER BY id) FROM t");
        LogicalSupport.sql(prod, "shop", "DROP TABLE t");
        try (java.sql.Connection c = Db.connect(scratchShop.withDbname("postgres"))) {
            Db.execute(c, "CREATE DATABASE shop");
        }

        ChildCli.Finished r = ChildCli.run(Map.of("PGHOSTADDR", "127.0.0.1"), List.of(), 180,
                "restore", "-q", "--logical", "--repo", repo.toString(), "--table", "t", "--to-db", "shop",
                "--host", socketDir.toString(), "--port", Integer.toString(port), "--user", "postgres");
        assertThat(r.exitCode()).as(r.output()).isEqualTo(2);
        assertThat(r.output()).contains("PGHOSTADDR is set");
        assertThat(query(LogicalSupport.conn(prod, "shop"), "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("tables named t on prod")
                .isEqualTo("0");
        assertThat(query(scratchShop, "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("tables named t on scratch").isEqualTo("0");

        // Without it, the table lands where the command line says
        ChildCli.Finished ok = ChildCli.run(Map.of(), List.of(), 180,
                "restore", "-q", "--logical", "--repo", repo.toString(), "--table", "t", "--to-db", "shop",
                "--host", socketDir.toString(), "--port", Integer.toString(port), "--user", "postgres");
        assertThat(ok.exitCode()).as(ok.output()).isZero();
        assertThat(query(scratchShop, "SELECT string_agg(t::text, '|' ORDER BY id) FROM t")).isEqualTo(atBackup);
    }

    private static String query(ConnectionSettings s, String sql) throws Exception {
        try (java.sql.Connection conn = Db.connect(s)) {
            return Db.queryString(conn, sql);
        }
    }
}
