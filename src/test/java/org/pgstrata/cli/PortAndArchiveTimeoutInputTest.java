package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;

/**
 * A port or a wait that can never work is refused while the command line is read, before a
 * restore writes a whole backup into its target (restore --start --port 70000 restored every
 * file, then failed with exit 20 blaming "the source's" settings and suggesting a locale) or a
 * backup copies the whole data directory (--archive-timeout 0 or -1 then threw it away, exit 25).
 */
class PortAndArchiveTimeoutInputTest {
    @TempDir
    Path dir;

    private static void refused(String option, String expected, String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as("exit of %s: %s", String.join(" ", args), r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).as("stderr of %s", String.join(" ", args)).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains(option).contains(expected).contains("hint: ");
    }

    @Test
    void portOutsideOneTo65535_isAUsageError_beforeARestoreOrAStart() {
        String repo = dir.resolve("no-repo").toString();
        for (String port : new String[] {"70000", "65536", "0", "-5"}) {
            refused("--port", "1 to 65535", "restore", "--repo", repo, "--to", dir.resolve("to").toString(), "--start", "--port", port);
            refused("--port", "1 to 65535", "cluster", "start", "-D", dir.toString(), "--port", port);
        }
        // The bounds are ports: the restore gets past parsing and fails on the missing repository.
        for (String port : new String[] {"1", "65535"}) {
            CliRun r = CliRun.run("restore", "--repo", repo, "--to", dir.resolve("to").toString(), "--start", "--port", port);
            assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
        }
    }

    @Test
    void portOutOfRangeInTheStanza_namesTheFile() throws Exception {
        Path conf = dir.resolve("pgstrata.conf");
        Files.writeString(conf, "[main]\nrepo = \"" + dir.resolve("no-repo") + "\"\nport = 70000\n");
        CliRun r = CliRun.withEnv(Map.of(), "--config", conf.toString(), "--stanza", "main", "restore", "--to", dir.resolve("to").toString(), "--start");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).contains("1 to 65535").contains("port from " + conf + " [main]");
    }

    @Test
    void archiveTimeoutBelowOneSecond_isAUsageError_beforeTheBackupCopiesAnything() {
        for (String t : new String[] {"0", "-1", "soon"}) {
            refused("--archive-timeout", "at least 1", "backup", "--repo", dir.resolve("no-repo").toString(), "--pgdata", dir.resolve("pgdata").toString(),
                    "--archive-timeout", t);
        }
    }
    /** docs/configuration.md: a value an option refuses names the key, the file and the stanza; check-timeout = 0 named only --check-timeout. */
    @Test
    void checkTimeoutBelowOneInTheStanza_namesTheFile() throws Exception {
        Path conf = dir.resolve("check.conf");
        Files.writeString(conf, "[main]\nrepo = \"" + dir.resolve("no-repo") + "\"\npgdata = \"" + dir.resolve("pgdata") + "\"\ncheck-timeout = 0\n");
        CliRun r = CliRun.withEnv(Map.of(), "--config", conf.toString(), "--stanza", "main", "check");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).contains("--check-timeout").contains("at least 1").contains("check-timeout from " + conf + " [main]");
    }
}
