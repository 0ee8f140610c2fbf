package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * PGSSLMODE=verify-full against a server whose certificate names another host: exit 16 with one
 * line (docs/errors.md: "Every error is one line"), not the driver's java.util.logging record
 * ("... PGjdbcHostnameVerifier verify" / "SEVERE: Server name validation failed ...") before it.
 */
class SslErrorOneLineTest extends PgTest {

    @Test
    void verifyFull_withACertificateForAnotherName_isOneLine() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        SslConnectionTest.certificate(dir, "server", "localhost");
        Files.copy(dir.resolve("server.crt"), source.pgdata().resolve("server.crt"));
        Files.copy(dir.resolve("server.key"), source.pgdata().resolve("server.key"));
        Files.setPosixFilePermissions(source.pgdata().resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        PgSupport.sql(source, "ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()");
        String port = Integer.toString(PgSupport.conn(source).port());

        ChildCli.Finished r = ChildCli.run(Map.of("PGHOST", "127.0.0.1", "PGUSER", "postgres", "PGSSLMODE", "verify-full",
                "PGSSLROOTCERT", dir.resolve("server.crt").toString()), List.of(), 120,
                "backup", "-q", "--logical", "--repo", dir.resolve("repo").toString(), "-p", port);
        assertThat(r.exitCode()).as(r.output()).isEqualTo(16);
        assertThat(r.output().lines().toList()).as(r.output()).singleElement().asString().startsWith("pgstrata: error: ");
    }
}
