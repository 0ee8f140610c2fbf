package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.CipherPass;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Self;
import org.pgstrata.storage.fs.FileStorage;

/**
 * archive_command and restore_command run java directly (Self.shellCommand), in the server's
 * environment, where the locale is often C (a service without LANG): Java 17 then decodes the
 * environment as ASCII, and a passphrase in PGSTRATA_CIPHER_PASS with any other character (the
 * documented way to give it to archive_command) read as another one: every push and get failed
 * with "does not open" (exit 48) on a repository made under a UTF-8 locale. Its bytes are read as
 * UTF-8 now, whatever the locale; another passphrase still does not open it.
 */
class PassphraseUnderCLocaleTest {
    private static final String PASS = "caf\u00e9 cr\u00e8me \u00fcber";
    /** The same passphrase as printf's octal escapes, so that no JVM's encoding touches it on the way. */
    private static final String PASS_PRINTF = "caf\\303\\251 cr\\303\\250me \\303\\274ber";

    @TempDir
    Path dir;

    @AfterEach
    void clearPass() {
        CipherPass.clear();
    }

    /** The command as archive_command runs it, under LC_ALL=C with only PATH and the passphrase (from printf) in its environment. */
    private static Object[] underCLocale(String printfPass, String args) throws Exception {
        String line = "PGSTRATA_CIPHER_PASS=\"$(printf '" + printfPass + "')\" exec " + Self.shellCommand() + " " + args;
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", line).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Object[] {p.exitValue(), out};
    }

    @Test
    void aNonAsciiPassphraseInTheEnvironment_opensTheRepository_underTheCLocale() throws Exception {
        Path root = dir.resolve("repo");
        CipherPass.use(new CipherPass.Source("test", PASS.toCharArray()), true);
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize("7300000000000000001", 17, Clock.systemUTC());
            assertThat(r.encrypted()).isTrue();
        }
        CipherPass.clear();

        Object[] right = underCLocale(PASS_PRINTF, "list --repo " + Self.quote(root.toString()));
        assertThat((int) right[0]).as(String.valueOf(right[1])).isZero();
        assertThat((String) right[1]).contains("no backups").contains("(encrypted)");

        // Another passphrase of the same length whose non-ASCII characters differ: still wrong, not read as the same replacement.
        Object[] wrong = underCLocale("caf\\303\\250 cr\\303\\251me \\303\\266ber", "list --repo " + Self.quote(root.toString()));
        assertThat((int) wrong[0]).as(String.valueOf(wrong[1])).isEqualTo(ErrorCode.CIPHER_PASS_WRONG.exitCode());
    }
}
