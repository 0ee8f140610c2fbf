package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * libpq matches a physical replication connection (pg_receivewal's, a standby's) against the
 * password file's database field {@code replication}, whatever database the user named
 * (streamutil.c connects with dbname=replication; the docs of the password file say so). {@code wal
 * receive} looked its replication connection up under --dbname: with a password file written for
 * pg_receivewal ({@code host:port:replication:user:password}) and a pg_hba.conf that asks a
 * password for replication only, it sent none and failed to authenticate, while pg_receivewal
 * streamed. Its SQL session keeps its own database.
 */
class WalReceivePassFileReplicationTest extends PgTest {
    private static final String PASSWORD = "repl:pw\\x";

    @Test
    void replicationConnection_matchesTheReplicationLineOfThePasswordFile() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        PgSupport.facade().repoInit(repo.toString(), source.pgdata());
        int port = PgSupport.conn(source).port();
        String stopAt;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "SET password_encryption = 'scram-sha-256'");
            Db.execute(c, "ALTER ROLE postgres PASSWORD '" + PASSWORD.replace("'", "''") + "'");
            Files.writeString(source.pgdata().resolve("pg_hba.conf"), """
                    host    replication  all   127.0.0.1/32   scram-sha-256
                    host    all          all   127.0.0.1/32   trust
                    """);
            Db.execute(c, "SELECT pg_reload_conf()");
            stopAt = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
        }
        Thread.sleep(500); // the postmaster rereads pg_hba.conf on SIGHUP
        Path passfile = dir.resolve("pgpass");
        // Only the line pg_receivewal reads: the SQL session needs none here (trust)
        Files.writeString(passfile, "127.0.0.1:" + port + ":replication:postgres:" + PASSWORD.replace("\\", "\\\\").replace(":", "\\:") + "\n");
        Files.setPosixFilePermissions(passfile, PosixFilePermissions.fromString("rw-------"));

        Process p = ChildCli.start(Map.of("PGPASSFILE", passfile.toString()), List.of(), "wal", "receive", "-q", "--repo", repo.toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--user", "postgres", "--dbname", "postgres", "--slot", "pgpass_test",
                "--stop-at", stopAt);
        StringBuilder said = new StringBuilder();
        Thread drain = new Thread(() -> {
            try {
                said.append(new String(p.getInputStream().readAllBytes()));
            } catch (java.io.IOException e) {
                // the process ended
            }
        });
        drain.start();
        try (Connection c = PgSupport.connect(source)) {
            for (int i = 0; i < 600 && p.isAlive() && !"t".equals(Db.queryString(c,
                    "SELECT active FROM pg_replication_slots WHERE slot_name = 'pgpass_test'")); i++) {
                Thread.sleep(100);
            }
            Db.execute(c, "SELECT pg_switch_wal()");
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            drain.join(10_000);
            assertThat(p.exitValue()).as(said.toString()).isZero();
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgpass_test'")).isEqualTo("1");
        }
    }
}
