package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A passphrase alone does not encrypt a new repository (repo init --encrypt, or encrypt = true in
 * the stanza, does): a first backup with --cipher-pass-file, or a stanza with cipher-pass and no
 * encrypt = true, created the repository in the clear and said nothing, so a user who meant to
 * encrypt wrote the database in the clear. The repository is still created (the documented
 * rule), and the command says so in a warning.
 */
class PassphraseWithoutEncryptTest extends PgTest {

    @Test
    void aPassphraseWithoutEncrypt_createsAClearRepository_andSaysSo() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g");
        Path pass = dir.resolve("pass");
        Files.writeString(pass, "a passphrase\n");
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-------"));

        Path byBackup = dir.resolve("by-backup");
        ChildCli.Finished backup = ChildCli.run(Map.of(), List.of(), 120, "backup", "--repo", byBackup.toString(), "--pgdata",
                source.pgdata().toString(), "--port", CliBackups.port(source), "--cipher-pass-file", pass.toString());
        assertThat(backup.exitCode()).as(backup.output()).isZero();
        assertThat(backup.output()).contains("pgstrata: warning: repository " + byBackup + " was created in the clear: a passphrase was given");
        assertThat(Files.readString(byBackup.resolve("repo.json"))).doesNotContain("encryption");

        Path byInit = dir.resolve("by-init");
        ChildCli.Finished init = ChildCli.run(Map.of("PGSTRATA_CIPHER_PASS", "a passphrase"), List.of(), 120, "repo", "init", "--repo",
                byInit.toString(), "--pgdata", source.pgdata().toString());
        assertThat(init.exitCode()).as(init.output()).isZero();
        assertThat(init.output()).contains("was created in the clear: a passphrase was given").contains("repo init --encrypt");

        // Asked for, it is encrypted, and nothing is said; into a repository that exists, nothing either.
        Path encrypted = dir.resolve("encrypted");
        ChildCli.Finished asked = ChildCli.run(Map.of(), List.of(), 120, "repo", "init", "--encrypt", "--repo", encrypted.toString(), "--pgdata",
                source.pgdata().toString(), "--cipher-pass-file", pass.toString());
        assertThat(asked.exitCode()).as(asked.output()).isZero();
        assertThat(asked.output()).doesNotContain("in the clear");
        ChildCli.Finished again = ChildCli.run(Map.of(), List.of(), 120, "backup", "--repo", byBackup.toString(), "--pgdata",
                source.pgdata().toString(), "--port", CliBackups.port(source), "--cipher-pass-file", pass.toString());
        assertThat(again.exitCode()).as(again.output()).isZero();
        assertThat(again.output()).doesNotContain("in the clear");
    }
}
