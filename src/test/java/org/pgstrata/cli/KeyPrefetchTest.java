package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.CipherPass;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.crypt.KeyEnvelope;
import org.pgstrata.storage.fs.FileStorage;

/**
 * The command line starts deriving an encrypted directory repository's key before picocli runs
 * (Cli.prefetchKey): it finds the repository and the passphrase as the command will, and the
 * command's own open then takes the key instead of running Argon2 a second time.
 */
class KeyPrefetchTest {
    @TempDir
    Path dir;

    @AfterEach
    void clear() {
        CipherPass.clear();
    }

    private Path encryptedRepository(String pass) throws Exception {
        Path root = dir.resolve("repo with space and 'quote'");
        CipherPass.use(new CipherPass.Source("test", pass.toCharArray()), true);
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize("7300000000000000002", 17, Clock.systemUTC());
        }
        CipherPass.clear();
        return root;
    }

    private static String salt(Path repo) throws java.io.IOException {
        return Repository.envelopeIn(repo).salt();
    }

    /**
     * Runs the command line's prefetch for {@code args} (none when null), then opens the repository
     * as a command does, with the passphrase from {@code file}; returns how many derivations both took.
     */
    private static int derivationsToOpen(Path repo, Path file, String[] args, Map<String, String> env) throws Exception {
        int before = KeyEnvelope.derivations(salt(repo));
        if (args != null) {
            assertThat(Cli.prefetchKey(args, env, ConfigFile.none())).isTrue();
        }
        CipherPass.useFile(file);
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.encrypted()).isTrue();
        }
        return KeyEnvelope.derivations(salt(repo)) - before;
    }

    @Test
    void theCommandsOwnOpen_takesThePrefetchedKey() throws Exception {
        Path repo = encryptedRepository("the right one");
        Path file = dir.resolve("pass");
        Files.writeString(file, "the right one\n");
        CipherPass.useFile(file);
        try (Repository r = Repository.on(new FileStorage(repo))) {
            assertThat(Repository.envelopeIn(repo)).isEqualTo(r.info().orElseThrow().encryption());
        }

        assertThat(derivationsToOpen(repo, file, null, Map.of())).as("no prefetch: Argon2 runs in the open").isEqualTo(1);
        assertThat(derivationsToOpen(repo, file, new String[] {"restore", "--repo", repo.toString(), "--cipher-pass-file", file.toString(),
            "--to", "x"}, Map.of())).as("prefetched: Argon2 ran once, before the open").isEqualTo(1);
        // --cipher-pass-file beats the environment, as it does for the command; --repo= and PGSTRATA_REPO are found too.
        assertThat(derivationsToOpen(repo, file, new String[] {"list", "--repo=" + repo, "--cipher-pass-file=" + file},
                Map.of(CipherPass.ENV, "not it"))).isEqualTo(1);
        assertThat(derivationsToOpen(repo, file, new String[] {"list"}, Map.of("PGSTRATA_REPO", repo.toString(), CipherPass.ENV, "the right one")))
                .isEqualTo(1);
    }

    @Test
    void aWrongGuessCostsADerivation_andTheWrongPassphraseIsStillRefused() throws Exception {
        Path repo = encryptedRepository("the right one");
        Path right = dir.resolve("right");
        Path wrong = dir.resolve("wrong");
        Files.writeString(right, "the right one");
        Files.writeString(wrong, "the wrong one");
        int before = KeyEnvelope.derivations(salt(repo));
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", repo.toString()}, Map.of(CipherPass.ENV, "the wrong one"),
                ConfigFile.none())).isTrue();
        assertThat(derivationsToOpenIgnoringRace(repo, right, before)).isEqualTo(2);

        // The right passphrase prefetched, a wrong one given to the open: refused, as without a prefetch.
        Cli.prefetchKey(new String[] {"list", "--repo", repo.toString(), "--cipher-pass-file", right.toString()}, Map.of(), ConfigFile.none());
        CipherPass.useFile(wrong);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Repository.open(repo.toString()))
                .isInstanceOf(org.pgstrata.api.PgstrataException.class).hasMessageContaining("does not open repository");
    }

    /** The open with {@code file}, counting the guess's derivation (on its own thread, not waited for) once it has begun. */
    private static int derivationsToOpenIgnoringRace(Path repo, Path file, int before) throws Exception {
        CipherPass.useFile(file);
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.encrypted()).isTrue();
        }
        for (long end = System.nanoTime() + 10_000_000_000L; KeyEnvelope.derivations(salt(repo)) - before < 2 && System.nanoTime() < end; ) {
            Thread.sleep(10);
        }
        return KeyEnvelope.derivations(salt(repo)) - before;
    }

    @Test
    void nothingIsStarted_whereTheCommandWouldNotOpenAnEncryptedDirectory() throws Exception {
        Path file = dir.resolve("pass");
        Files.writeString(file, "p");
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", "s3://bucket/prefix", "--cipher-pass-file", file.toString()}, Map.of(),
                ConfigFile.none())).as("S3").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString()}, Map.of(), ConfigFile.none())).as("no passphrase").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"cluster", "start"}, Map.of("PGSTRATA_REPO", dir.toString(), CipherPass.ENV, "p"),
                ConfigFile.none())).as("a command without a repository").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString(), "--cipher-pass-file", dir.resolve("missing").toString()},
                Map.of(), ConfigFile.none())).as("an unreadable passphrase file: the command says so").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--", "--repo", dir.toString()}, Map.of(CipherPass.ENV, "p"), ConfigFile.none()))
                .as("after --").isFalse();
        // A directory that is no repository: started; there is no envelope to derive for.
        assertThat(Repository.envelopeIn(dir)).isNull();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString()}, Map.of(CipherPass.ENV, "p"), ConfigFile.none())).isTrue();
    }
}
