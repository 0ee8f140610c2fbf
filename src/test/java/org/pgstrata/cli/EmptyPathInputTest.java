package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;

/**
 * An empty path ("--to $TARGET" with TARGET unset) was read as the working directory: restore --to ''
 * run from an empty directory restored the backup there, exit 0. Every path option refuses it while
 * the command line is read, as does a stanza's empty pgdata.
 */
class EmptyPathInputTest {
    @TempDir
    Path dir;

    @Test
    void emptyPathOption_isAUsageError() {
        String repo = dir.resolve("no-repo").toString();
        String[][] commands = {
            {"restore", "--repo", repo, "--to", ""},
            {"restore", "--repo", repo, "--to", dir.resolve("to").toString(), "--config-dir", ""},
            {"backup", "--repo", repo, "--pgdata", ""},
            {"cluster", "start", "-D", ""},
        };
        for (String[] args : commands) {
            CliRun r = CliRun.run(args);
            assertThat(r.exitCode()).as("exit of %s: %s", String.join(" ", args), r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).as("stderr of %s", String.join(" ", args)).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("empty").contains("hint: ");
        }
    }

    @Test
    void emptyPgdataInTheStanza_namesTheFile() throws Exception {
        Path conf = dir.resolve("pgstrata.conf");
        Files.writeString(conf, "[main]\nrepo = \"" + dir.resolve("no-repo") + "\"\npgdata = \"\"\n");
        CliRun r = CliRun.withEnv(Map.of(), "--config", conf.toString(), "--stanza", "main", "backup");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).contains("empty").contains("pgdata from " + conf + " [main]");
    }
}
