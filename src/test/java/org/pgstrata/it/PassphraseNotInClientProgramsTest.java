package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.CipherPass;
import org.pgstrata.db.LocalCluster;

/**
 * pg_dump, pg_restore and psql, which a logical backup or restore of an encrypted repository
 * runs, read nothing of the repository: they ran with the repository's passphrase in their
 * environment all the same (PGSTRATA_CIPHER_PASS inherited from the command), where
 * /proc/PID/environ, a core dump or a wrapper's log keeps it. They now run without it, and the
 * backup and both restores still work, proven by content.
 */
class PassphraseNotInClientProgramsTest extends PgTest {
    private static final String PASS = "Zq17 client-env passphrase";

    /** Wrappers that note, one line per run, which program ran and what PGSTRATA_CIPHER_PASS held, then run the real one. */
    private Path wrappers(Path log) throws Exception {
        Path real = LogicalSupport.pgDump().program().getParent();
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String name : List.of("pg_dump", "pg_restore", "psql")) {
            Path p = bin.resolve(name);
            Files.writeString(p, "#!/bin/sh\necho \"" + name + " [${" + CipherPass.ENV + "-}] [${PGSTRATA_NEW_CIPHER_PASS-}]\" >> '" + log
                    + "'\nexec '" + real.resolve(name) + "' \"$@\"\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    private static String ok(ChildCli.Finished r) {
        assertThat(r.exitCode()).as(r.output()).isZero();
        return r.output();
    }

    @Test
    void logicalBackupAndRestores_ofAnEncryptedRepository_runTheirClientsWithoutThePassphrase() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        var content = LogicalSupport.proof(source, "shop");
        Path repo = dir.resolve("repo");
        Path log = dir.resolve("clients.log");
        String bin = wrappers(log).toString();
        Map<String, String> env = Map.of(CipherPass.ENV, PASS, "PGSTRATA_NEW_CIPHER_PASS", PASS + " new");
        String port = CliBackups.port(source);

        ok(ChildCli.run(env, List.of(), 120, "repo", "init", "-q", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--encrypt"));
        ok(ChildCli.run(env, List.of(), 300, "backup", "--logical", "-q", "--repo", repo.toString(), "--port", port, "--dbname", "shop",
                "--pg-bin", bin));
        ok(ChildCli.run(env, List.of(), 300, "restore", "--logical", "-q", "--repo", repo.toString(), "--port", port, "--to-db", "copy",
                "--pg-bin", bin));
        assertThat(LogicalSupport.proof(source, "copy")).isEqualTo(content);
        // A table restored into an existing database goes in through psql, in one transaction.
        PgSupport.sql(source, "CREATE DATABASE one");
        LogicalSupport.sql(source, "shop", "UPDATE t SET v = 'changed' WHERE id % 10 = 0", "DELETE FROM t WHERE id % 7 = 0");
        var changed = LogicalSupport.proof(source, "shop");
        ok(ChildCli.run(env, List.of(), 300, "backup", "--logical", "-q", "--type", "diff", "--repo", repo.toString(), "--port", port,
                "--dbname", "shop", "--pg-bin", bin));
        ok(ChildCli.run(env, List.of(), 300, "restore", "--logical", "-q", "--repo", repo.toString(), "--port", port, "--to-db", "one",
                "--table", "t", "--pg-bin", bin));
        assertThat(LogicalSupport.proof(source, "one")).isEqualTo(changed);

        List<String> runs = Files.readAllLines(log);
        assertThat(runs).as("the wrappers ran").anyMatch(l -> l.startsWith("pg_dump ")).anyMatch(l -> l.startsWith("pg_restore "))
                .anyMatch(l -> l.startsWith("psql "));
        assertThat(runs).as("the clients' environment").allMatch(l -> l.endsWith(" [] []"));
    }
}
