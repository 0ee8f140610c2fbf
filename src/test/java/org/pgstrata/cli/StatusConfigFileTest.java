package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * status is a monitoring plugin: a configuration file it cannot use is UNKNOWN (exit 3, the reason
 * on stdout where the monitor reads it), never exit 2 (CRITICAL to Nagios) or another command's code.
 */
class StatusConfigFileTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        return f;
    }

    private static CliRun status(String... args) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("PGSTRATA_CONFIG");
        env.remove("PGSTRATA_REPO");
        env.remove("PGSTRATA_CIPHER_PASS");
        List<String> all = new java.util.ArrayList<>(List.of("status"));
        all.addAll(List.of(args));
        return CliRun.withEnv(env, all.toArray(String[]::new));
    }

    private static void unknown(CliRun r, String reason) {
        assertThat(r.exitCode()).as("exit code; it printed:\n%s%s", r.out(), r.err()).isEqualTo(3);
        assertThat(r.out().lines().findFirst()).hasValueSatisfying(l -> assertThat(l).startsWith("PGSTRATA UNKNOWN - ").contains(reason));
    }

    /** A '|' in what status prints starts performance data for Nagios: the text shows a broken bar instead. */
    @Test
    void aPipeInTheRepositoryPath_isNotPrinted_whereAMonitorReadsPerformanceData() {
        CliRun r = status("--repo", dir.resolve("a|b").toString());
        unknown(r, "a\u00a6b");
        assertThat(r.out()).doesNotContain("|");
    }

    @Test
    void aConfigurationFileItCannotUse_isUnknown() throws Exception {
        Path repo = dir.resolve("repo");
        unknown(status("--config", write("broken.conf", "[global]\nrepo = \"" + repo + "\n").toString()), "not valid TOML");
        unknown(status("--config", dir.resolve("absent.conf").toString()), "does not exist");
        unknown(status("--config", write("key.conf", "[global]\nrepo = \"" + repo + "\"\nmax-backup-age = \"1h\"\n").toString()),
                "unknown key 'max-backup-age'");
        Path ok = write("ok.conf", "[global]\nrepo = \"" + repo + "\"\n");
        unknown(status("--config", ok.toString(), "--stanza", "nope"), "unknown stanza 'nope'");
        unknown(status("--config", write("encrypt.conf", "[global]\nrepo = \"" + repo + "\"\nencrypt = \"maybe\"\n").toString()),
                "neither true nor false");
        unknown(status("--config", write("value.conf", "[global]\nrepo = \"" + repo + "\"\ns3-path-style = \"maybe\"\n").toString()),
                "'maybe' is not a boolean");

        // --json still prints the object scripts read, with the reason.
        CliRun r = status("--json", "--repo", repo.toString(), "--config", dir.resolve("absent.conf").toString());
        assertThat(r.exitCode()).isEqualTo(3);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("status").asText()).isEqualTo("unknown");
        assertThat(j.get("repository").asText()).isEqualTo(repo.toString());
        assertThat(j.get("message").asText()).contains("does not exist");

        // A mistake on the command line itself stays a usage error, as documented.
        assertThat(status("--config", ok.toString(), "--max-backup-age", "soon").exitCode()).isEqualTo(2);
    }
}
