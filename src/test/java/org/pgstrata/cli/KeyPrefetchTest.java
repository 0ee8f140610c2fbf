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
     * as a command does, with the passphrase from {@code file}; returns how many times the opening
     * thread ran Argon2 itself (0: it took the prefetched key), after checking that a prefetch ran it
     * once when there was one.
     */
    private static int derivationsToOpen(Path repo, Path file, String[] args, Map<String, String> env) throws Exception {
        String salt = salt(repo);
        int own = KeyEnvelope.derivations(salt, false);
        int ahead = KeyEnvelope.derivations(salt, true);
        if (args != null) {
            assertThat(Cli.prefetchKey(args, env, ConfigFile.none())).isTrue();
        }
        CipherPass.useFile(file);
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.encrypted()).isTrue();
        }
        assertThat(KeyEnvelope.derivations(salt, true) - ahead).as("prefetch derivations").isEqualTo(args == null ? 0 : 1);
        return KeyEnvelope.derivations(salt, false) - own;
    }

    @Test
    void theCommandsOwnOpen_takesThePrefetchedKey() throws Exception {
        Path repo = encryptedRepository("the right one");
        Path file = dir.resolve("pass");
        Files.writeString(file, "the right one\n");
        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        CipherPass.useFile(file);
        try (Repository r = Repository.on(new FileStorage(repo))) {
            assertThat(Repository.envelopeIn(repo)).isEqualTo(r.info().orElseThrow().encryption());
        }

        assertThat(derivationsToOpen(repo, file, null, Map.of())).as("no prefetch: Argon2 runs in the open").isEqualTo(1);
        assertThat(derivationsToOpen(repo, file, new String[] {"restore", "--repo", repo.toString(), "--cipher-pass-file", file.toString(),
            "--to", "x"}, Map.of())).as("prefetched: the open runs no Argon2").isZero();
        // --cipher-pass-file beats the environment, as it does for the command; --repo= and PGSTRATA_REPO are found too.
        assertThat(derivationsToOpen(repo, file, new String[] {"list", "--repo=" + repo, "--cipher-pass-file=" + file},
                Map.of(CipherPass.ENV, "not it"))).isZero();
        assertThat(derivationsToOpen(repo, file, new String[] {"list"}, Map.of("PGSTRATA_REPO", repo.toString(), CipherPass.ENV, "the right one")))
                .isZero();
        // Options before the command; a blank PGSTRATA_REPO leaves the stanza's (here: none, so --repo decides).
        assertThat(derivationsToOpen(repo, file, new String[] {"--stanza", "main", "list", "--repo", repo.toString()},
                Map.of("PGSTRATA_REPO", " ", CipherPass.ENV, "the right one"))).isZero();
    }

    @Test
    void aWrongGuessCostsADerivation_andTheWrongPassphraseIsStillRefused() throws Exception {
        Path repo = encryptedRepository("the right one");
        Path right = dir.resolve("right");
        Path wrong = dir.resolve("wrong");
        Files.writeString(right, "the right one");
        java.nio.file.Files.setPosixFilePermissions(right, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        Files.writeString(wrong, "the wrong one");
        java.nio.file.Files.setPosixFilePermissions(wrong, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        int own = KeyEnvelope.derivations(salt(repo), false);
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", repo.toString()}, Map.of(CipherPass.ENV, "the wrong one"),
                ConfigFile.none())).isTrue();
        CipherPass.useFile(right);
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.encrypted()).isTrue();
        }
        assertThat(KeyEnvelope.derivations(salt(repo), false) - own).as("the wrong guess is not used: the open derives").isEqualTo(1);

        // The right passphrase prefetched, a wrong one given to the open: refused, as without a prefetch.
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", repo.toString(), "--cipher-pass-file", right.toString()}, Map.of(),
                ConfigFile.none())).isTrue();
        CipherPass.useFile(wrong);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Repository.open(repo.toString()))
                .isInstanceOf(org.pgstrata.api.PgstrataException.class).hasMessageContaining("does not open repository");
    }

    @Test
    void nothingIsStarted_whereTheCommandWouldNotOpenAnEncryptedRepository() throws Exception {
        Path file = dir.resolve("pass");
        Files.writeString(file, "p");
        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", "s3://", "--cipher-pass-file", file.toString()}, Map.of(),
                ConfigFile.none())).as("a malformed s3:// location").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString()}, Map.of(), ConfigFile.none())).as("no passphrase").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"cluster", "start"}, Map.of("PGSTRATA_REPO", dir.toString(), CipherPass.ENV, "p"),
                ConfigFile.none())).as("a command without a repository").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString(), "--cipher-pass-file", dir.resolve("missing").toString()},
                Map.of(), ConfigFile.none())).as("an unreadable passphrase file: the command says so").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--", "--repo", dir.toString()}, Map.of(CipherPass.ENV, "p"), ConfigFile.none()))
                .as("after --").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list"}, Map.of("PGSTRATA_REPO", "no\0path", CipherPass.ENV, "p"), ConfigFile.none()))
                .as("a location that is no path: no exception from here, the command reports it").isFalse();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString(), "--help"}, Map.of(CipherPass.ENV, "p"), ConfigFile.none()))
                .as("--help").isFalse();
        java.nio.file.Path fifo = dir.resolve("pass fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString(), "--cipher-pass-file", fifo.toString()}, Map.of(),
                ConfigFile.none())).as("a pipe is left for the command to read, once").isFalse();
        // A directory that is no repository: started; there is no envelope to derive for.
        assertThat(Repository.envelopeIn(dir)).isNull();
        assertThat(Cli.prefetchKey(new String[] {"list", "--repo", dir.toString()}, Map.of(CipherPass.ENV, "p"), ConfigFile.none())).isTrue();
        KeyEnvelope.discardPrefetch();
    }

    /** --cipher-pass-file is read once per command, though location() is asked more than once (list: to open, then to name it). */
    @Test
    void thePassphraseFile_isReadOnce_soThatAPipeWorks() throws Exception {
        Path file = dir.resolve("once");
        Files.writeString(file, "p");
        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        RepoOptions options = new RepoOptions();
        options.repo = dir.toString();
        options.cipherPassFile = file;
        options.location();
        Files.delete(file); // as a pipe that was read to its end
        assertThat(options.describe()).isEqualTo(dir.toString());
        assertThat(new String(CipherPass.current().passphrase())).isEqualTo("p");
    }

    /** On S3 the prefetch opens the store on its own thread and reads repo.json there; the command's open takes the key. */
    @Test
    void anEncryptedS3Repository_isPrefetchedToo() throws Exception {
        try (org.pgstrata.storage.s3.S3Server server = org.pgstrata.storage.s3.S3Server.inMemory()) {
            server.createBucket("prefetch");
            String location = server.location("prefetch", "a repo");
            CipherPass.use(new CipherPass.Source("test", "s3 pass".toCharArray()), true);
            try (Repository r = Repository.on(org.pgstrata.storage.StorageFactory.open(location))) {
                r.initialize("7300000000000000003", 17, Clock.systemUTC());
            }
            String salt = Repository.envelopeAt(location).salt();
            int own = KeyEnvelope.derivations(salt, false);
            int ahead = KeyEnvelope.derivations(salt, true);
            assertThat(Cli.prefetchKey(new String[] {"list", "--repo", location}, Map.of(CipherPass.ENV, "s3 pass"), ConfigFile.none()))
                    .isTrue();
            try (Repository r = Repository.open(location)) {
                assertThat(r.encrypted()).isTrue();
            }
            assertThat(KeyEnvelope.derivations(salt, false) - own).as("the open ran no Argon2").isZero();
            assertThat(KeyEnvelope.derivations(salt, true) - ahead).isEqualTo(1);
        }
    }
}
