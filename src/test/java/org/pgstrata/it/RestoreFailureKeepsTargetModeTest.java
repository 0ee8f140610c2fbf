package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;

/**
 * A restore into an existing empty directory that fails (here on a damaged object) removes what it
 * wrote and says it left the directory as it found it; it left it with the mode it had set for the
 * data (0700), not the one it had: a directory prepared 0755 for an owner change or a group to
 * read came back closed. It gets its mode back, as cluster init gives it back.
 */
class RestoreFailureKeepsTargetModeTest extends PgTest {

    @Test
    void aFailedRestoreIntoAnEmptyDirectory_leavesItEmptyWithItsMode() throws Exception {
        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String id = CliBackups.backupId(repo, src, "full");
        src.stop();
        Manifest m;
        try (Repository r = Repository.open(repo.toString())) {
            m = r.manifest(id);
        }
        var victim = m.files().stream().filter(f -> f.object() != null && f.size() > 100_000).findFirst().orElseThrow();
        Path object = repo.resolve(victim.object().key());
        byte[] bytes = Files.readAllBytes(object);
        bytes[bytes.length / 3] ^= 0x20;
        Files.write(object, bytes);

        Path target = Files.createDirectory(dir.resolve("target"));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
        ChildCli.Finished r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--repo", repo.toString(), "--to", target.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(r.output()).contains("nothing was left in " + target);
        try (var s = Files.list(target)) {
            assertThat(s.toList()).isEmpty();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rwxr-xr-x");
    }
}
