package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * libpq's SSL variables (PGSSLMODE, PGSSLROOTCERT) hold for pgstrata's own connections as for
 * pg_dump's: a user who asks for a verified server is never connected to an unverified one, nor
 * in the clear. The server here accepts TCP connections over SSL only.
 */
class SslConnectionTest extends PgTest {

    @Test
    void pgsslmode_isHonoured_byBackupsAndTheirRefusals() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path cert = certificate("server", "localhost");
        Path otherCa = certificate("other", "localhost");
        Files.copy(cert.resolveSibling("server.crt"), source.pgdata().resolve("server.crt"));
        Files.copy(cert.resolveSibling("server.key"), source.pgdata().resolve("server.key"));
        Files.setPosixFilePermissions(source.pgdata().resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path hba = source.pgdata().resolve("pg_hba.conf");
        Files.writeString(hba, "hostnossl all all all reject\n" + Files.readString(hba));
        PgSupport.sql(source, "ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
        int port = PgSupport.conn(source).port();
        // (the test's own connections prefer SSL, and get it)
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);

        Path repo = dir.resolve("repo");
        ConnectionSettings verified = settings(port, Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", cert.toString()));
        var full = PgSupport.facade().backup(new BackupRequest(repo.toString(), source.pgdata(), verified, BackupType.FULL, Compression.ZSTD, 2, 0));
        var logical = PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), verified, BackupType.FULL, Compression.ZSTD, 1, null));
        assertThat(logical.id()).isNotBlank();
        LocalCluster restored = pg.restoreAndStart(repo, full.id(), "restored", LogicalSupport.serverMajor());
        assertThat(ClusterContent.of(restored)).isEqualTo(atFull);

        // A server whose certificate another authority signed, and one that offers no SSL: refused, as libpq refuses them
        ConnectionSettings wrongCa = settings(port, Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", otherCa.toString()));
        assertThatThrownBy(() -> PgSupport.facade().backup(new BackupRequest(dir.resolve("repo2").toString(), source.pgdata(), wrongCa,
                BackupType.FULL, Compression.ZSTD, 2, 0))).isInstanceOf(PgstrataException.class)
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CONNECTION);
        Path restoredHba = restored.pgdata().resolve("pg_hba.conf");
        Files.writeString(restoredHba, Files.readString(restoredHba).replace("hostnossl all all all reject\n", ""));
        PgSupport.sql(restored, "ALTER SYSTEM SET ssl = off", "SELECT pg_reload_conf()");
        int plainPort = PgSupport.conn(restored).port();
        for (String mode : List.of("require", "verify-ca", "verify-full")) {
            ConnectionSettings s = settings(plainPort, Map.of("PGSSLMODE", mode, "PGSSLROOTCERT", cert.toString()));
            assertThatThrownBy(() -> PgSupport.facade().logicalBackup(new LogicalBackupRequest(dir.resolve("repo3").toString(), s,
                    BackupType.FULL, Compression.ZSTD, 1, null))).as("PGSSLMODE=%s against a server without SSL", mode)
                    .isInstanceOf(PgstrataException.class).extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CONNECTION);
        }
        assertThat(dir.resolve("repo2")).doesNotExist();
        assertThat(dir.resolve("repo3")).doesNotExist();
        // and without PGSSLMODE the driver prefers SSL and falls back, as libpq does
        PgSupport.facade().logicalBackup(new LogicalBackupRequest(dir.resolve("repo4").toString(), settings(plainPort, Map.of()),
                BackupType.FULL, Compression.ZSTD, 1, null));
    }

    @Test
    void anSslModeLibpqDoesNotKnow_isAUsageError() {
        assertThatThrownBy(() -> ConnectionSettings.resolve(null, 5432, null, null, Map.of("PGSSLMODE", "verify_full")))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("invalid sslmode 'verify_full'")
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.USAGE);
        ConnectionSettings s = ConnectionSettings.resolve(null, 5432, null, null, Map.of("PGSSLMODE", "require", "PGSSLROOTCERT", "/r.crt"));
        assertThat(s.ssl()).isEqualTo(Map.of("sslmode", "require", "sslrootcert", "/r.crt"));
        assertThat(s.withDbname("x").ssl()).isEqualTo(s.ssl());
        assertThat(s.sslEnvironment()).isEqualTo(Map.of("PGSSLMODE", "require", "PGSSLROOTCERT", "/r.crt"));
    }

    private static ConnectionSettings settings(int port, Map<String, String> ssl) {
        Map<String, String> env = new HashMap<>(ssl);
        env.put("PGHOST", "localhost");
        return ConnectionSettings.resolve(null, port, "postgres", "postgres", env);
    }

    private Path certificate(String name, String host) throws Exception {
        return certificate(dir, name, host);
    }

    /** A self-signed certificate for {@code host} (its own authority) in {@code dir}'s NAME.crt and NAME.key; the .crt's path. */
    static Path certificate(Path dir, String name, String host) throws Exception {
        Path crt = dir.resolve(name + ".crt");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + host,
                "-addext", "subjectAltName=DNS:" + host, "-keyout", dir.resolve(name + ".key").toString(), "-out", crt.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        return crt;
    }
}
