package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * wal get as restore_command with --cipher-pass-file (which the lean path leaves to the full
 * command line): a passphrase file it cannot use is a failure above 125, so that PostgreSQL stops
 * recovery instead of taking it as the end of the archive and promoting early.
 */
class WalGetPassFileTest {
    @TempDir
    Path dir;

    private CliRun get(Path passFile) {
        return CliRun.withEnv(Map.of(), "wal", "get", "--repo", dir.resolve("repo").toString(), "--cipher-pass-file", passFile.toString(),
                "000000010000000000000003", dir.resolve("pg_wal/000000010000000000000003").toString());
    }

    @Test
    void anEmptyMissingOrDirectoryPassFile_stopsRecovery_ratherThanEndingIt() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), "");
        Path directory = Files.createDirectories(dir.resolve("adir"));
        for (Path p : new Path[] {empty, dir.resolve("missing"), directory}) {
            CliRun r = get(p);
            assertThat(r.exitCode()).as("%s: %s", p, r.err()).isEqualTo(LeanWal.GET_FAILED);
            assertThat(r.errLines()).as(r.err()).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("passphrase file");
        }
        assertThat(dir.resolve("pg_wal")).doesNotExist();
    }

    @Test
    void aUsageOrConfigurationError_stopsRecoveryToo() {
        String name = "000000010000000000000003";
        String path = dir.resolve("pg_wal/" + name).toString();
        // No repository anywhere (picocli's usage error), a configuration file that is not there, a missing argument.
        for (String[] args : new String[][] {{"wal", "get", name, path}, {"--config", dir.resolve("none.conf").toString(), "wal", "get", "--repo",
            dir.resolve("repo").toString(), name, path}, {"wal", "get", "--repo", dir.resolve("repo").toString(), name}}) {
            CliRun r = CliRun.withEnv(Map.of(), args);
            assertThat(r.exitCode()).as("%s: %s", String.join(" ", args), r.err()).isEqualTo(LeanWal.GET_FAILED);
        }
        // wal push keeps its own codes (archive_command: any failure is retried).
        CliRun push = CliRun.withEnv(Map.of(), "wal", "push", dir.resolve("pg_wal/" + name).toString());
        assertThat(push.exitCode()).as(push.err()).isEqualTo(2);
    }
}
