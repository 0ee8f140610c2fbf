package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A TMPDIR that does not exist, or that cannot be written (a read-only file system), was told to
 * "free space": the hint now says what is wrong with it.
 */
class TmpdirHintTest extends PgTest {

    private static ChildCli.Finished restoreWithTmpdir(Path tmp, Path repo, LocalCluster c, String id) throws Exception {
        return ChildCli.run(Map.of("TMPDIR", tmp.toString()), List.of("-Djava.io.tmpdir=" + tmp), 120, "restore", "--logical",
                "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(c), "--to-db", "copy");
    }

    private static String errorLine(ChildCli.Finished r) {
        List<String> errors = r.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).toList();
        assertThat(errors).as(r.output()).hasSize(1);
        return errors.get(0);
    }

    @Test
    void logicalRestoreWithAMissingOrReadOnlyTmpdir_saysSo_notFreeSpace() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();

        Path missing = dir.resolve("no-such-tmp");
        ChildCli.Finished r = restoreWithTmpdir(missing, repo, source, id);
        String line = errorLine(r);
        assertThat(r.exitCode()).as(r.output()).isEqualTo(22);
        assertThat(line).contains(missing.toString()).contains("does not exist").doesNotContain("free space");

        Path readOnly = Files.createDirectories(dir.resolve("ro-tmp"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly.toString()).redirectErrorStream(true).start();
        assertThat(mount.waitFor()).as(new String(mount.getInputStream().readAllBytes())).isZero();
        try {
            r = restoreWithTmpdir(readOnly, repo, source, id);
        } finally {
            new ProcessBuilder("umount", "-l", readOnly.toString()).start().waitFor();
        }
        line = errorLine(r);
        assertThat(r.exitCode()).as(r.output()).isEqualTo(22);
        assertThat(line).contains(readOnly.toString()).contains("read-only").doesNotContain("free space");
        assertThat(LogicalSupport.databaseExists(source, "copy")).isFalse();
    }
}
