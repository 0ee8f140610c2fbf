package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * PGSSLMODE=require with a root certificate (PGSSLROOTCERT, or ~/.postgresql/root.crt) verifies
 * the server's certificate against it, as libpq does ("if a root CA file exists, the behavior of
 * sslmode=require will be the same as that of verify-ca"): psql and pg_dump refuse a server that
 * root does not vouch for, and so must pgstrata's own connections. Before, the Java driver's
 * require verified nothing, and pgstrata backed up (and streamed WAL from) a server that every
 * libpq client of the same settings refused.
 */
class SslRequireWithRootCertTest extends PgTest {

    @Test
    void require_withARootCertificate_refusesAServerItDoesNotVouchFor_asLibpqDoes() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster source = pg.start("source", major);
        Path cert = certificate("server", "localhost");
        Path otherCa = certificate("other", "localhost");
        Files.copy(cert, source.pgdata().resolve("server.crt"));
        Files.copy(dir.resolve("server.key"), source.pgdata().resolve("server.key"));
        Files.setPosixFilePermissions(source.pgdata().resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path hba = source.pgdata().resolve("pg_hba.conf");
        Files.writeString(hba, "hostnossl all all all reject\n" + Files.readString(hba));
        PgSupport.sql(source, "ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
        String port = Integer.toString(PgSupport.conn(source).port());
        Map<String, ContentChecksum.Result> content = ClusterContent.of(source);

        // The reference: libpq refuses the server with this root
        Path psql = Path.of("/usr/lib/postgresql/15/bin/psql");
        if (Files.isExecutable(psql)) {
            ProcessBuilder pb = new ProcessBuilder(psql.toString(), "-h", "localhost", "-p", port, "-U", "postgres", "-d", "postgres", "-Atc", "SELECT 1")
                    .redirectErrorStream(true);
            pb.environment().putAll(Map.of("PGSSLMODE", "require", "PGSSLROOTCERT", otherCa.toString()));
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as("psql: %s", out).isNotZero();
            assertThat(out).contains("certificate verify failed");
        }

        Path refusedRepo = dir.resolve("refused");
        ChildCli.Finished refused = ChildCli.run(Map.of("PGHOST", "localhost", "PGSSLMODE", "require", "PGSSLROOTCERT", otherCa.toString()),
                List.of(), 120, "backup", "-q", "--repo", refusedRepo.toString(), "-D", source.pgdata().toString(), "-p", port, "--type", "full");
        assertThat(refused.exitCode()).as(refused.output()).isEqualTo(16);
        assertThat(refused.output().lines().filter(l -> l.startsWith("pgstrata: error:")).toList()).as(refused.output()).hasSize(1);
        assertThat(refused.output().lines().filter(l -> !l.isBlank()).toList()).as("one line: %s", refused.output()).hasSize(1);
        assertThat(refusedRepo).doesNotExist();

        // The right root: require connects, and the backup restores to the same content
        Path repo = dir.resolve("repo");
        ChildCli.Finished backup = ChildCli.run(Map.of("PGHOST", "localhost", "PGSSLMODE", "require", "PGSSLROOTCERT", cert.toString()),
                List.of(), 300, "backup", "-q", "--repo", repo.toString(), "-D", source.pgdata().toString(), "-p", port, "--type", "full");
        assertThat(backup.exitCode()).as(backup.output()).isZero();
        String id = PgSupport.facade().list(repo.toString()).get(0).id();
        LocalCluster restored = pg.restoreAndStart(repo, id, "restored", major);
        assertThat(ClusterContent.of(restored)).isEqualTo(content);
    }

    private Path certificate(String name, String host) throws Exception {
        return SslConnectionTest.certificate(dir, name, host);
    }
}
