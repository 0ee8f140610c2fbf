package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;

/**
 * restore and drill take one recovery target (docs/pitr.md: "restore takes one target"). Two
 * targets, or one given twice, are a usage error in one line that names what was given and says
 * what to do, as every other error is: picocli's own words ("Error: Error: ... mutually exclusive",
 * or "expected only one match but got [--target-time=TIME | ...]={--target-xid=1} and [...]")
 * doubled the word error and quoted its group syntax at the user.
 */
class OneRecoveryTargetUsageTest {
    @TempDir
    Path dir;

    private CliRun run(String command, String... target) {
        Stream<String> head = command.equals("restore")
                ? Stream.of("restore", "--repo", dir.resolve("no-repo").toString(), "--to", dir.resolve("to").toString())
                : Stream.of("drill", "--repo", dir.resolve("no-repo").toString());
        return CliRun.run(Stream.concat(head, Arrays.stream(target)).toArray(String[]::new));
    }

    @Test
    void twoTargets_orOneTwice_areOneLineNamingThem() {
        Object[][] cases = {
            {"restore", new String[] {"--target-lsn", "0/1", "--target-name", "x"}, "--target-lsn 0/1, --target-name x"},
            {"drill", new String[] {"--target", "latest", "--target-lsn", "0/1"}, "--target latest, --target-lsn 0/1"},
            {"restore", new String[] {"--target-xid", "1", "--target-xid", "2"}, "--target-xid 1, --target-xid 2"},
            {"restore", new String[] {"--target-time=2026-01-01T00:00:00Z", "--target-lsn", "0/2"}, "--target-time 2026-01-01T00:00:00Z, --target-lsn 0/2"},
        };
        for (Object[] c : cases) {
            String[] target = (String[]) c[1];
            CliRun r = run((String) c[0], target);
            String what = c[0] + " " + String.join(" ", target);
            assertThat(r.exitCode()).as("exit of %s", what).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).as("stderr of %s", what).hasSize(1);
            String line = r.errLines().get(0);
            assertThat(line).as("stderr of %s", what)
                    .startsWith("pgstrata: error: " + c[0] + " takes one recovery target, and was given " + c[2] + ";")
                    .doesNotContain("Error:").doesNotContain("expected only one match").doesNotContain("{")
                    .contains("hint: give one of --target-time, --target-lsn, --target-xid, --target-name or --target latest, once");
        }
    }
}
