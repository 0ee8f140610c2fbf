package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.CipherPass;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.storage.fs.FileStorage;

/** repo.json of an encrypted repository: created once, and never silently replaced. */
class EncryptedRepositoryInfoTest {
    private static final String SYSID = "7300000000000000001";

    @TempDir
    Path dir;

    @AfterEach
    void clearPass() {
        CipherPass.clear();
    }

    private static void encrypting() {
        CipherPass.use(new CipherPass.Source("test", "a passphrase".toCharArray()), true);
    }

    /** A repository made under the passphrase in use (none: in the clear) that holds one backup's manifest. */
    private Path withOneBackup(String name) throws java.io.IOException {
        Path root = dir.resolve(name);
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize(SYSID, 17, Clock.systemUTC());
            r.storage().putBytes("backup/20261203-000000F/manifest", new byte[] {1, 2, 3});
        }
        return root;
    }

    @Test
    void anEncryptedRepositoryThatLostItsRepoJson_isNotTakenForAnEmptyLocation() throws Exception {
        encrypting();
        Path root = dir.resolve("repo");
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize(SYSID, 17, Clock.systemUTC());
            assertThat(r.encrypted()).isTrue();
            r.storage().putBytes("backup/20261203-000000F/manifest", new byte[] {1, 2, 3});
            r.storage().putBytes("wal/0000000100000000/000000010000000000000001", new byte[] {4});
        }
        Files.delete(root.resolve("repo.json"));

        CipherPass.use(null, false); // the next backup, of a stanza without encrypt = true
        try (Repository r = Repository.on(new FileStorage(root))) {
            assertThat(r.hasContent()).as("the location holds encrypted backups").isTrue();
            assertThatThrownBy(() -> r.initialize(SYSID, 17, Clock.systemUTC())).isInstanceOf(PgstrataException.class)
                    .hasMessageContaining("which held their key, is missing");
            // repo init's repair neither: it cannot read a single backup without the lost key.
            assertThatThrownBy(() -> r.recreateInfo(SYSID, 17, Clock.systemUTC())).isInstanceOf(PgstrataException.class)
                    .hasMessageContaining("encrypted");
        }
        assertThat(Files.exists(root.resolve("repo.json"))).as("no clear repo.json over encrypted backups").isFalse();
    }

    /**
     * Every command but repo init (list, restore, verify) refused an encrypted repository that
     * lost its repo.json with the hint to run 'repo init', "which checks every backup ... before
     * re-creating it"; run, repo init refused too: the key went with the file. The refusal now
     * says so at once, and sends to the copy of repo.json, the one way back.
     */
    @Test
    void anEncryptedRepositoryThatLostItsRepoJson_isNotSentToRepoInit() throws Exception {
        encrypting();
        Path root = withOneBackup("repo");
        Files.delete(root.resolve("repo.json"));
        try (Repository r = Repository.on(new FileStorage(root))) {
            assertThatThrownBy(r::requireInfo).isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.oneLine())
                    .contains("holds encrypted objects").contains("restore repo.json from a copy").doesNotContain("repo init"));
        }
        // A clear repository that lost it is still sent to repo init, which can check its backups.
        CipherPass.use(null, false);
        Path clear = withOneBackup("clear");
        Files.delete(clear.resolve("repo.json"));
        try (Repository r = Repository.on(new FileStorage(clear))) {
            assertThatThrownBy(r::requireInfo).isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.oneLine())
                    .contains("repo.json is missing").contains("pgstrata repo init"));
        }
    }

    @Test
    void aClearRepoJsonOverEncryptedObjects_isRefused_notReadAsAnEmptyClearRepository() throws Exception {
        encrypting();
        Path root = withOneBackup("repo");
        CipherPass.use(null, false);
        Path clear = dir.resolve("clear");
        try (Repository r = Repository.on(new FileStorage(clear))) {
            r.initialize(SYSID, 17, Clock.systemUTC()); // the same cluster's repository in the clear
        }
        Files.copy(clear.resolve("repo.json"), root.resolve("repo.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        byte[] replaced = Files.readAllBytes(root.resolve("repo.json"));

        encrypting(); // the stanza's passphrase, as for its archive_command and backups
        assertThatThrownBy(() -> Repository.open(root.toString())).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("encrypted objects").hasMessageContaining("in the clear")
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CORRUPT));
        CipherPass.use(new CipherPass.Source("test", "a passphrase".toCharArray()), false); // the passphrase alone
        assertThatThrownBy(() -> Repository.open(root.toString())).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("encrypted objects");
        // archive_command's and restore_command's lean path neither: no WAL in the clear beside encrypted backups.
        assertThatThrownBy(() -> RepoIdentity.open(root.toString())).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("encrypted objects");
        assertThat(Files.readAllBytes(root.resolve("repo.json"))).isEqualTo(replaced);

        // A repository in the clear opened with a passphrase at hand (a [global] cipher-pass) still opens.
        try (Repository r = Repository.open(clear.toString())) {
            assertThat(r.encrypted()).isFalse();
        }
        RepoIdentity.open(clear.toString()).close();
    }

    /**
     * Another encrypted repository's repo.json (the same cluster, the same passphrase: a copy
     * restored from the wrong place) over encrypted objects: its key writes other names, so the
     * repository read as empty (list: no backups, verify: 0 problems, wal get: not in the
     * archive, which ends a recovery early) and backups went in beside the old ones under the
     * other key.
     */
    @Test
    void anotherEncryptedRepositorysRepoJson_isRefused_notReadAsAnEmptyRepository() throws Exception {
        encrypting();
        Path root = dir.resolve("repo");
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize(SYSID, 17, Clock.systemUTC());
            r.storage().putBytes("backup/20261203-000000F/manifest", new byte[] {1, 2, 3});
            r.storage().putBytes("archive/0000000100000000/000000010000000000000001", new byte[] {4});
        }
        Path other = dir.resolve("other");
        try (Repository r = Repository.on(new FileStorage(other))) {
            r.initialize(SYSID, 17, Clock.systemUTC()); // the same cluster, the same passphrase, its own key
        }
        Files.copy(other.resolve("repo.json"), root.resolve("repo.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        byte[] replaced = Files.readAllBytes(root.resolve("repo.json"));

        CipherPass.use(new CipherPass.Source("test", "a passphrase".toCharArray()), false);
        assertThatThrownBy(() -> Repository.open(root.toString()).awaitKey().close()).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("did not write")
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CORRUPT));
        assertThatThrownBy(() -> RepoIdentity.open(root.toString()).close()).isInstanceOf(PgstrataException.class)
                .hasMessageContaining("did not write");
        assertThat(Files.readAllBytes(root.resolve("repo.json"))).isEqualTo(replaced);

        // Each repository with its own repo.json still opens, a stray key of a shared bucket beside it or not.
        Files.writeString(other.resolve("shared-bucket-notes-for-operators"), "not pgstrata's");
        try (Repository r = Repository.open(other.toString())) {
            assertThat(r.awaitKey().encrypted()).isTrue();
        }
        RepoIdentity.open(other.toString()).close();
    }

    @Test
    void twoCommandsCreatingTheRepositoryAtOnce_endUpWithOneKey() throws Exception {
        encrypting();
        Path root = dir.resolve("repo");
        for (int round = 0; round < 3; round++) {
            Path location = root.resolve("r" + round);
            int n = 3;
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(n);
            try {
                List<Future<RepoInfo>> made = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    made.add(pool.submit(() -> {
                        Repository r = Repository.on(new FileStorage(location));
                        start.await();
                        RepoInfo info = r.initialize(SYSID, 17, Clock.systemUTC());
                        // What this command then writes must read back through the repository's key.
                        r.storage().putBytes("backup/" + Thread.currentThread().getId() + "/manifest", new byte[] {7});
                        r.close();
                        return info;
                    }));
                }
                start.countDown();
                List<RepoInfo> infos = new ArrayList<>();
                for (Future<RepoInfo> f : made) {
                    infos.add(f.get());
                }
                try (Repository r = Repository.on(new FileStorage(location))) {
                    RepoInfo stored = r.requireInfo();
                    for (RepoInfo i : infos) {
                        assertThat(i.encryption()).as("round " + round + ": the key each command used is the stored one").isEqualTo(stored.encryption());
                    }
                    List<String> keys = r.storage().list("backup/");
                    assertThat(keys).as("round " + round + ": every command's object is readable").hasSize(n);
                    for (String k : keys) {
                        assertThat(r.storage().getBytes(k)).containsExactly(7);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aKeyUnwrappedInTheBackground_failsAsTheForegroundOneDoes_atAwaitKeyOrAtFirstUse() throws Exception {
        encrypting();
        Path root = dir.resolve("repo");
        try (Repository r = Repository.on(new FileStorage(root))) {
            r.initialize(SYSID, 17, Clock.systemUTC());
            r.storage().putBytes("backup/20261203-000000F/manifest", new byte[] {5});
        }
        String location = root.toString();
        try (Repository r = Repository.openUnlocking(location)) {
            assertThat(r.awaitKey().storage().getBytes("backup/20261203-000000F/manifest")).containsExactly(5);
        }
        try (Repository r = Repository.openUnlocking(location)) { // no awaitKey: the first read waits for the key itself
            assertThat(r.storage().list("backup/")).containsExactly("backup/20261203-000000F/manifest");
        }

        CipherPass.use(new CipherPass.Source("test", "not the passphrase".toCharArray()), false);
        try (Repository r = Repository.openUnlocking(location)) {
            assertThatThrownBy(r::awaitKey).isInstanceOf(PgstrataException.class)
                    .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_WRONG));
        }
        try (Repository r = Repository.openUnlocking(location)) {
            assertThatThrownBy(() -> r.storage().list("backup/")).isInstanceOf(PgstrataException.class)
                    .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_WRONG));
            assertThatThrownBy(() -> r.storage().putBytes("backup/x", new byte[] {1})).isInstanceOf(PgstrataException.class)
                    .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_WRONG));
        }
        try (var files = Files.walk(root)) {
            assertThat(files.filter(Files::isRegularFile).count()).as("repo.json and the one object; nothing written").isEqualTo(2);
        }

        CipherPass.use(null, false);
        assertThatThrownBy(() -> Repository.openUnlocking(location)).as("no passphrase is an error at once, not at first use")
                .isInstanceOf(PgstrataException.class)
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CIPHER_PASS_MISSING));
    }
}
