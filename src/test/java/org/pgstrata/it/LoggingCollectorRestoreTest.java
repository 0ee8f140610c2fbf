package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;

/**
 * A cluster with logging_collector = on (the default of the PGDG packages for Red Hat) writes its
 * log into log_directory, not to the output that pgstrata keeps in log/pgstrata-server.log. A
 * restored copy keeps that setting, so pgstrata, which reads the log of the server it started to
 * tell where recovery stopped and whether the server shut down at its target, read nothing but
 * "redirecting log output to logging collector process": a restore that reached its target
 * exited 19. Its log is now read from the collector's current file too (stderr's or csvlog's).
 */
class LoggingCollectorRestoreTest extends PgTest {
    @ParameterizedTest
    @ValueSource(strings = {"stderr", "csvlog"})
    void aRestoreToAShutdownTarget_ofAClusterWithTheLoggingCollector_saysWhereRecoveryStopped(String destination) throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "ALTER SYSTEM SET logging_collector = on", "ALTER SYSTEM SET log_destination = '" + destination + "'");
        source.stop();
        source.start();
        assertThat(PgSupport.queryString(source, "SHOW logging_collector")).isEqualTo("on");
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
        String lsn = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(2001, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsn, "--target-action",
                "shutdown", "--start", "--port", Integer.toString(LocalCluster.freePort()), "--json");
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode result = new ObjectMapper().readTree(r.out());
        assertThat(result.path("state").asText()).as(r.out()).isEqualTo("shut down");
        String stopped = result.path("stoppedAtLsn").asText();
        assertThat(stopped).as(r.out() + r.err()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(Lsn.parse(stopped).compareTo(Lsn.parse(lsn))).isGreaterThanOrEqualTo(0);

        // Promoted at the same target, the copy holds the first 2000 rows
        Path auto = copy.resolve("postgresql.auto.conf");
        Files.writeString(auto, Files.readString(auto).replace("recovery_target_action = 'shutdown'", "recovery_target_action = 'promote'"));
        restored.start();
        for (int i = 0; i < 300 && "t".equals(PgSupport.queryString(restored, "SELECT pg_is_in_recovery()")); i++) {
            Thread.sleep(100);
        }
        assertThat(PgSupport.queryString(restored, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("2000 2000");
    }
}
