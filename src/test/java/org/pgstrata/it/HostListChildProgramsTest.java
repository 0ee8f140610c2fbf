package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * With a list of hosts (--host db1,db2), pgstrata's own session (pgjdbc) takes the first that
 * answers, while pg_restore and psql, given the same list, chose for themselves by libpq's
 * variables that pgjdbc does not read: with PGTARGETSESSIONATTRS=read-write, pgstrata checked the
 * standby listed first (database there, no table t) and psql restored the table into the primary
 * listed second, exit 0; with PGTARGETSESSIONATTRS=standby the other way round. The client
 * programs now get the one host pgstrata's session reached, without those variables.
 */
class HostListChildProgramsTest extends PgTest {
    private static final String HBA = """
            local   all          all                  trust
            host    all          all   127.0.0.0/8    trust
            host    replication  all   127.0.0.0/8    trust
            """;

    @Test
    void logicalTableRestore_goesToTheHostPgstratasSessionReached() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster primary = pg.start("primary", major); // 127.0.0.1
        int port = PgSupport.conn(primary).port();
        PgSupport.sql(primary, "CREATE DATABASE shop");
        LogicalSupport.sql(primary, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g");
        Path repo = dir.resolve("repo");
        CliBackups.logicalBackup(repo, primary, "shop", "full");
        ConnectionSettings primaryShop = LogicalSupport.conn(primary, "shop");
        String atBackup = query(primaryShop, "SELECT string_agg(t::text, '|' ORDER BY id) FROM t");
        LogicalSupport.sql(primary, "shop", "DROP TABLE t");
        Files.writeString(primary.pgdata().resolve("pg_hba.conf"), HBA);
        primary.stop();
        // A hot standby of it on the same port, on 127.0.0.2: a copy of the cleanly stopped cluster, in recovery with nothing to replay
        Path standbyDir = dir.resolve("standby");
        PgSupport.copyTree(primary.pgdata(), standbyDir);
        Files.writeString(standbyDir.resolve("postgresql.conf"), "\nlisten_addresses = '127.0.0.2'\nhot_standby = on\n", StandardOpenOption.APPEND);
        Files.createFile(standbyDir.resolve("standby.signal"));
        Files.setPosixFilePermissions(standbyDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        LocalCluster standby = pg.track(new LocalCluster(standbyDir, primary.binaries()));
        primary.start(port);
        standby.start(port);
        ConnectionSettings standbyShop = new ConnectionSettings("127.0.0.2", port, "postgres", "shop", null);
        assertThat(query(standbyShop, "SELECT pg_is_in_recovery()::text")).isEqualTo("true");

        // pgstrata's session reaches the standby, listed first: the restore works there (and the standby refuses to write),
        // not on the primary that libpq's read-write would pick
        ChildCli.Finished onStandby = ChildCli.run(Map.of("PGTARGETSESSIONATTRS", "read-write"), List.of(), 180,
                "restore", "-q", "--logical", "--repo", repo.toString(), "--table", "t", "--to-db", "shop",
                "--host", "127.0.0.2,127.0.0.1", "--port", Integer.toString(port), "--user", "postgres");
        assertThat(query(primaryShop, "SELECT count(*) FROM pg_class WHERE relname = 't'")).as("tables t on the primary; %s", onStandby.output())
                .isEqualTo("0");
        assertThat(onStandby.exitCode()).as(onStandby.output()).isNotZero();
        assertThat(onStandby.output()).contains("read-only transaction");

        // The primary listed first: the table lands there, whatever libpq's standby would pick
        ChildCli.Finished onPrimary = ChildCli.run(Map.of("PGTARGETSESSIONATTRS", "standby"), List.of(), 180,
                "restore", "-q", "--logical", "--repo", repo.toString(), "--table", "t", "--to-db", "shop",
                "--host", "127.0.0.1,127.0.0.2", "--port", Integer.toString(port), "--user", "postgres");
        assertThat(onPrimary.exitCode()).as(onPrimary.output()).isZero();
        assertThat(query(primaryShop, "SELECT string_agg(t::text, '|' ORDER BY id) FROM t")).isEqualTo(atBackup);
    }

    private static String query(ConnectionSettings s, String sql) throws Exception {
        try (java.sql.Connection conn = Db.connect(s)) {
            return Db.queryString(conn, sql);
        }
    }
}
