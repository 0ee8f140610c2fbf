package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * restore --start checks the restored server with the user's PGSSLMODE, PGSSLROOTCERT, PGSSLCERT
 * and PGSSLKEY, as every other pgstrata connection: a cluster whose pg_hba.conf asks TCP clients
 * for a certificate is backed up with them, and its copy must be checked with them too.
 */
class RestoreStartClientCertificateTest extends PgTest {

    @Test
    void restoreStart_checksTheCopy_withTheClientCertificate() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster source = pg.start("source", major);
        Path ssl = Files.createDirectory(dir.resolve("ssl"));
        openssl(ssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca", "-keyout", "ca.key", "-out", "ca.crt");
        openssl(ssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
        openssl(ssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "server.crt");
        openssl(ssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=postgres", "-keyout", "client.key", "-out", "client.csr");
        openssl(ssl, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.crt");
        openssl(ssl, "pkcs8", "-topk8", "-outform", "DER", "-nocrypt", "-in", "client.key", "-out", "client.pk8");
        Files.setPosixFilePermissions(ssl.resolve("client.pk8"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        for (String f : List.of("server.crt", "server.key", "ca.crt")) {
            Files.copy(ssl.resolve(f), source.pgdata().resolve(f));
        }
        Files.setPosixFilePermissions(source.pgdata().resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path hba = source.pgdata().resolve("pg_hba.conf");
        Files.writeString(hba, "hostnossl all all all reject\nhostssl all all all cert\n" + Files.readString(hba));
        PgSupport.sql(source, "ALTER SYSTEM SET ssl = on", "ALTER SYSTEM SET ssl_ca_file = 'ca.crt'", "SELECT pg_reload_conf()");
        Map<String, String> env = Map.of("PGHOST", "localhost", "PGSSLMODE", "verify-full", "PGSSLROOTCERT", ssl.resolve("ca.crt").toString(),
                "PGSSLCERT", ssl.resolve("client.crt").toString(), "PGSSLKEY", ssl.resolve("client.pk8").toString(), "PGUSER", "postgres");
        String port = Integer.toString(PgSupport.conn(source).port());
        Path repo = dir.resolve("repo");

        ChildCli.Finished backup = ChildCli.run(env, List.of(), 300, "backup", "-q", "--repo", repo.toString(), "-D", source.pgdata().toString(),
                "-p", port, "--type", "full");
        assertThat(backup.exitCode()).as(backup.output()).isZero();

        Path target = dir.resolve("restored");
        ChildCli.Finished restore = ChildCli.run(env, List.of(), 300, "restore", "-q", "--repo", repo.toString(), "--to", target.toString(),
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        if (Files.isRegularFile(target.resolve("PG_VERSION"))) {
            pg.trackRestored(target, major); // stopped at the end
        }
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        assertThat(restore.output()).contains("read-write");

        // A PEM key, as libpq reads it and openssl writes it by default: the driver cannot read one, and the error says so
        Map<String, String> pemEnv = new java.util.HashMap<>(env);
        pemEnv.put("PGSSLKEY", ssl.resolve("client.key").toString());
        ChildCli.Finished pem = ChildCli.run(pemEnv, List.of(), 300, "backup", "-q", "--repo", repo.toString(), "-D",
                source.pgdata().toString(), "-p", port, "--type", "full");
        assertThat(pem.exitCode()).as(pem.output()).isEqualTo(16);
        assertThat(pem.output()).as(pem.output()).contains("PEM", "openssl pkcs8 -topk8 -outform DER").doesNotContain("server is running");
    }

    private static void openssl(Path in, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(in.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }
}
