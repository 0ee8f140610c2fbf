package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.CipherPass;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A passphrase in PGSTRATA_CIPHER_PASS (or the stanza's cipher-pass) with a line end, as a
 * container's secret read from a file into the environment keeps it: 'repo init --encrypt'
 * wrapped the key for it, exit 0, and no --cipher-pass-file could ever open the repository (a
 * file gives its first line, the line end left out): exit 48, "does not open". Such a passphrase
 * is refused where a key is wrapped for it (init, the first encrypted backup, rotate-pass's new
 * one), in one line with exit 2, nothing written; without the line end the three ways agree.
 */
class PassphraseLineEndTest extends PgTest {

    @AfterEach
    void forgetPassphrase() {
        CipherPass.clear();
    }

    private static Map<String, String> env(String pass) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG"));
        if (pass != null) {
            env.put(CipherPass.ENV, pass);
        }
        return env;
    }

    @Test
    void aPassphraseWithALineEnd_isRefusedForANewKey_withoutOneTheThreeWaysAgree() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String pgdata = source.pgdata().toString();
        Path repo = dir.resolve("repo");

        for (String pass : new String[] {"a passphrase\n", "a passphrase\r\n", "two\nlines"}) {
            CliRun init = CliRun.withEnv(env(pass), "repo", "init", "-q", "--repo", repo.toString(), "--pgdata", pgdata, "--encrypt");
            CipherPass.clear();
            assertThat(init.exitCode()).as(init.out() + init.err()).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(init.errLines()).hasSize(1);
            assertThat(init.err()).contains("the passphrase from PGSTRATA_CIPHER_PASS holds a line end").contains("nothing was written");
            assertThat(repo.resolve("repo.json")).doesNotExist();
        }

        // The stanza's cipher-pass, a TOML string with an escaped newline, and encrypt = true: the same.
        Path config = dir.resolve("pgstrata.conf");
        Files.writeString(config, "[enc]\nrepo = \"" + repo + "\"\npgdata = \"" + pgdata + "\"\nencrypt = true\n"
                + "cipher-pass = \"a passphrase\\n\"\n");
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
        CliRun fromStanza = CliRun.withEnv(env(null), "--config", config.toString(), "--stanza", "enc", "repo", "init", "-q");
        CipherPass.clear();
        assertThat(fromStanza.exitCode()).as(fromStanza.out() + fromStanza.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(fromStanza.err()).contains("holds a line end");
        assertThat(repo.resolve("repo.json")).doesNotExist();

        // Without the line end: made from the environment, opened by a file that ends in CRLF and by the stanza.
        CliRun init = CliRun.withEnv(env("a passphrase"), "repo", "init", "-q", "--repo", repo.toString(), "--pgdata", pgdata, "--encrypt");
        CipherPass.clear();
        assertThat(init.exitCode()).as(init.err()).isZero();
        Path file = Files.writeString(dir.resolve("pass"), "a passphrase\r\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        CliRun byFile = CliRun.withEnv(env(null), "list", "--repo", repo.toString(), "--cipher-pass-file", file.toString());
        CipherPass.clear();
        assertThat(byFile.exitCode()).as(byFile.err()).isZero();
        Files.writeString(config, "[enc]\nrepo = \"" + repo + "\"\ncipher-pass = \"a passphrase\"\n");
        CliRun byStanza = CliRun.withEnv(env(null), "--config", config.toString(), "--stanza", "enc", "list");
        CipherPass.clear();
        assertThat(byStanza.exitCode()).as(byStanza.err()).isZero();

        // rotate-pass to a new passphrase with a line end (PGSTRATA_NEW_CIPHER_PASS): refused, the old one still opens.
        CipherPass.use(new CipherPass.Source("test", "a passphrase".toCharArray()), false);
        assertThatThrownBy(() -> PgSupport.facade().rotatePassphrase(repo.toString(), "a new one\n".toCharArray()))
                .isInstanceOfSatisfying(PgstrataException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
                    assertThat(e.getMessage()).contains("the new passphrase holds a line end");
                });
        CipherPass.clear();
        CliRun still = CliRun.withEnv(env("a passphrase"), "list", "--repo", repo.toString());
        assertThat(still.exitCode()).as(still.err()).isZero();
    }
}
