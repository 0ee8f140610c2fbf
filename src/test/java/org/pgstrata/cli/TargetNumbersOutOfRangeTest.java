package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;

/**
 * A --target-xid or --target-timeline made of digits but out of range is a usage error, not an
 * internal error (exit 70, "please report it"), and any xid8 that PostgreSQL's recovery_target_xid
 * takes gets past parsing.
 */
class TargetNumbersOutOfRangeTest {
    @TempDir
    Path dir;

    private CliRun restore(String... target) {
        String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("restore", "--repo", dir.resolve("no-repo").toString(),
                "--to", dir.resolve("to").toString()), java.util.Arrays.stream(target)).toArray(String[]::new);
        return CliRun.run(args);
    }

    @Test
    void digitsOutOfRange_areAUsageError() {
        String[][] targets = {
            {"--target-xid", "18446744073709551616"}, // 2^64
            {"--target-xid", "99999999999999999999"},
            {"--target", "latest", "--target-timeline", "99999999999"},
            {"--target", "latest", "--target-timeline", "4294967296"},
            {"--target", "latest", "--target-timeline", "0"},
        };
        for (String[] target : targets) {
            CliRun r = restore(target);
            assertThat(r.exitCode()).as("exit for %s", String.join(" ", target)).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid --target-");
        }
    }

    @Test
    void theLargestXid8_getsPastParsing() {
        CliRun r = restore("--target-xid", "18446744073709551615");
        assertThat(r.exitCode()).isNotIn(ErrorCode.USAGE.exitCode(), 70);
        assertThat(r.errLines()).hasSize(1);
    }
}
