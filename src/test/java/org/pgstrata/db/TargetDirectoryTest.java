package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * A restore or init target that holds only lost+found is the root of a file system (a mount
 * point). It was refused as "not empty" with the hint "empty this one first", which has the user
 * remove lost+found (fsck's place for what it recovers); PostgreSQL's initdb advises a directory
 * under the mount point instead, and so does the refusal now.
 */
class TargetDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void aMountPointWithLostAndFound_isRefusedWithTheHintToUseADirectoryUnderIt() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("mnt/pg"));
        Files.createDirectory(mount.resolve("lost+found"));
        assertThatThrownBy(() -> LocalCluster.requireEmptyOrAbsent(mount, "restore backup X there"))
                .isInstanceOfSatisfying(PgstrataException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.TARGET_NOT_EMPTY);
                    assertThat(e.getMessage()).contains(mount + " holds lost+found").contains("mount point");
                    assertThat(e.hint()).contains(mount.resolve("pgdata").toString()).doesNotContain("empty this one");
                });
        // Anything else in it is just "not empty"
        Files.createFile(mount.resolve("x"));
        assertThatThrownBy(() -> LocalCluster.requireEmptyOrAbsent(mount, "restore backup X there"))
                .isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.getMessage()).endsWith(mount + " is not empty"));
    }
}
