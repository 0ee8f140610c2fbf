package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pgstrata completion: a bash script that completes the commands and options --help lists, run by a real bash. */
class CompletionTest {
    @TempDir
    Path dir;

    /** What the script offers for the words typed so far (the last one being completed). */
    private String complete(Path script, String... words) throws Exception {
        StringBuilder arr = new StringBuilder();
        for (String w : words) {
            arr.append(" '").append(w).append('\'');
        }
        String cmd = "source '" + script + "' 2>/dev/null; COMP_WORDS=(" + arr + "); COMP_CWORD=" + (words.length - 1)
                + "; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _complete_pgstrata 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"";
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    @Test
    void theScript_completesCommandsAndTheirOptions() throws Exception {
        CliRun r = CliRun.run("completion");
        assertThat(r.exitCode()).as(r.err()).isZero();
        Path script = dir.resolve("pgstrata-completion.bash");
        Files.writeString(script, r.out());
        assertThat(complete(script, "pgstrata", "ba").lines()).containsExactly("backup");
        assertThat(complete(script, "pgstrata", "dr").lines()).containsExactly("drill");
        assertThat(complete(script, "pgstrata", "backup", "--ty").lines()).containsExactly("--type");
        assertThat(complete(script, "pgstrata", "status", "--max-").lines()).contains("--max-backup-age", "--max-drill-age", "--max-archive-lag");
        assertThat(complete(script, "pgstrata", "repo", "ro").lines()).containsExactly("rotate-pass");
        assertThat(complete(script, "pgstrata", "zz")).isBlank();
    }

    @Test
    void anUnknownShell_isAUsageError() {
        CliRun r = CliRun.run("completion", "fish");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1).first().asString().contains("no completion script for the shell 'fish'");
    }
}
