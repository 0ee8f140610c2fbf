package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.storage.fs.FileStorage;

/**
 * The lean WAL path (archive_command, restore_command) reads repo.json without Jackson; it must
 * refuse what {@link Repository#info()} refuses rather than take the repository for a clear one
 * and push clear WAL into it.
 */
class RepoIdentityFormatTest {
    @TempDir
    Path dir;

    private String repoWith(RepoInfo info) throws Exception {
        Path root = dir.resolve("repo" + info.formatVersion());
        try (FileStorage s = new FileStorage(root)) {
            s.putBytes(Repository.INFO_KEY, Json.seal(info));
        }
        return root.toString();
    }

    @Test
    void aRepositoryOfTheEncryptedFormat_withoutItsKey_isRefused_notWrittenInTheClear() throws Exception {
        String location = repoWith(new RepoInfo(RepoInfo.ENCRYPTED_FORMAT_VERSION, "7300000000000000001", 17, "2026-12-03T00:00:00Z"));
        assertThatThrownBy(() -> Repository.open(location)).as("the full path refuses it");
        assertThatThrownBy(() -> RepoIdentity.open(location).close()).as("so must archive_command's");
    }

    @Test
    void aRepositoryOfANewerFormat_isRefused() throws Exception {
        String location = repoWith(new RepoInfo(RepoInfo.ENCRYPTED_FORMAT_VERSION + 1, "7300000000000000001", 17, "2026-12-03T00:00:00Z"));
        assertThatThrownBy(() -> Repository.open(location)).as("the full path refuses it");
        assertThatThrownBy(() -> RepoIdentity.open(location).close()).as("so must archive_command's");
    }

    @Test
    void aClearRepository_opens() throws Exception {
        String location = repoWith(new RepoInfo(RepoInfo.FORMAT_VERSION, "7300000000000000001", 17, "2026-12-03T00:00:00Z"));
        try (RepoIdentity.Opened o = RepoIdentity.open(location)) {
            assertThat(o.systemIdentifier()).isEqualTo("7300000000000000001");
        }
    }
}
