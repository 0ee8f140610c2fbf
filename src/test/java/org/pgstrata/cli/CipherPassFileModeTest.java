package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A --cipher-pass-file that every user may read was taken as it was: whoever reads it reads every
 * backup, where a configuration file holding the same secret is refused. It is refused too now,
 * in one line with exit 2, before anything is read; 640 (a group) and 600 are fine. One that is
 * not UTF-8 says so.
 */
class CipherPassFileModeTest {
    @TempDir
    Path dir;

    @Test
    void aWorldReadablePassphraseFile_isRefused_aGroupReadableOneIsNot() throws Exception {
        Path repo = Files.createDirectory(dir.resolve("repo"));
        Path pass = Files.writeString(dir.resolve("pass"), "a passphrase\n");
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-r--r--"));
        CliRun open = CliRun.run("list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString());
        assertThat(open.exitCode()).as(open.err()).isEqualTo(2);
        assertThat(open.errLines()).hasSize(1);
        assertThat(open.err()).contains("the passphrase file " + pass + " can be read by every user").contains("chmod o-r");

        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-r-----"));
        CliRun group = CliRun.run("list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString());
        assertThat(group.err()).doesNotContain("every user");
        assertThat(group.exitCode()).as(group.err()).isNotEqualTo(2); // an empty directory: no repository there, which is another error
    }

    /** A passphrase file in Latin-1 was "cannot read the passphrase file F: Input length = 1": Java's words, not the cause. */
    @Test
    void aPassphraseFileThatIsNotUtf8_isSaidSo_inOneLine() throws Exception {
        Path repo = Files.createDirectory(dir.resolve("repo"));
        Path pass = Files.write(dir.resolve("pass"), new byte[] {'c', 'a', 'f', (byte) 0xe9, '\n'});
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-------"));
        CliRun open = CliRun.run("list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString());
        assertThat(open.exitCode()).as(open.err()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_MISSING.exitCode());
        assertThat(open.errLines()).hasSize(1);
        assertThat(open.err()).contains("the passphrase file " + pass + " is not UTF-8 text").doesNotContain("Input length");
    }

    /**
     * A passphrase file that is not there was "cannot read the passphrase file F: F" (Java's message is the path again), which
     * does not say what is wrong with it; an archive_command run as postgres with a file only root may read was no clearer.
     */
    @Test
    void aMissingPassphraseFile_isSaidToBeMissing() throws Exception {
        Path repo = Files.createDirectory(dir.resolve("repo"));
        Path pass = dir.resolve("no-such-pass");
        CliRun open = CliRun.run("list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString());
        assertThat(open.exitCode()).as(open.err()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_MISSING.exitCode());
        assertThat(open.errLines()).hasSize(1);
        assertThat(open.err()).contains("the passphrase file " + pass + " does not exist").doesNotContain(pass + ": " + pass);
    }
}
