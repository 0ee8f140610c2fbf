package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.CipherPass;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A repository in the clear that lost its repo.json, re-created by 'repo init --encrypt': the
 * new repo.json would hold a key that wrote none of the backups and archived WAL there, so that
 * every later command sees an empty repository ("no backups") and a restore finds nothing. It is
 * refused, nothing written; and an encrypted repo.json found over objects in the clear (put there
 * by hand) is refused as not theirs, never read as an empty repository.
 */
class RepoInitEncryptOverClearTest extends PgTest {

    @AfterEach
    void forgetPassphrase() {
        CipherPass.clear();
    }

    @Test
    void encryptedRepoJson_isNeverWrittenOrTakenOverBackupsInTheClear() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        Path repo = dir.resolve("repo");
        String id = CliBackups.backupId(repo, source, "full");
        Path pass = Files.writeString(dir.resolve("pass"), "s3cret passphrase\n");
        Files.setPosixFilePermissions(pass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

        Files.delete(repo.resolve("repo.json"));
        CliRun init = CliRun.run("repo", "init", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--encrypt",
                "--cipher-pass-file", pass.toString());
        CipherPass.clear();
        assertThat(init.exitCode()).as(init.err()).isEqualTo(2);
        assertThat(init.err()).contains("in the clear");
        assertThat(repo.resolve("repo.json")).doesNotExist();

        // Re-created as it was, in the clear: the backup is there again.
        CliRun clear = CliRun.run("repo", "init", "--repo", repo.toString(), "--pgdata", source.pgdata().toString());
        assertThat(clear.exitCode()).as(clear.err()).isZero();
        CliRun list = CliRun.run("list", "--repo", repo.toString());
        assertThat(list.exitCode()).as(list.err()).isZero();
        assertThat(list.out()).contains(id);

        // Another (encrypted) repository's repo.json of the same cluster, copied over it: refused, not an empty repository.
        Path other = dir.resolve("other");
        CliRun enc = CliRun.run("repo", "init", "--repo", other.toString(), "--pgdata", source.pgdata().toString(), "--encrypt",
                "--cipher-pass-file", pass.toString());
        CipherPass.clear();
        assertThat(enc.exitCode()).as(enc.err()).isZero();
        Files.copy(other.resolve("repo.json"), repo.resolve("repo.json"), StandardCopyOption.REPLACE_EXISTING);
        CliRun misread = CliRun.run("list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString());
        CipherPass.clear();
        assertThat(misread.out()).doesNotContain("no backups");
        assertThat(misread.exitCode()).as(misread.out() + misread.err()).isEqualTo(15);
        assertThat(misread.err()).contains("in the clear");
    }
}
