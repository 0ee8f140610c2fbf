package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

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
        String lsn = ShutdownTarget.prepare(source, repo);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsn, "--target-action",
                "shutdown", "--start", "--port", Integer.toString(LocalCluster.freePort()), "--json");
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isZero();
        ShutdownTarget.check(new ObjectMapper().readTree(r.out()), r.out() + r.err(), lsn, restored);
    }
}
