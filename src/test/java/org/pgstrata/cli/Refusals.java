package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.it.PgSupport;

/** What the bad-input tests check of every refusal: its exit code, one line on stderr, and a hint. */
final class Refusals {
    private Refusals() {
    }

    /** Runs the command line, expects it to fail with {@code code} in one line with a hint, and records the code in {@code seen}. */
    static CliRun expectFailure(Set<Integer> seen, ErrorCode code, String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(code.exitCode());
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("hint: ");
        seen.add(r.exitCode());
        return r;
    }

    /** A copy of a repository (without its lock) that a test may damage. */
    static Path copyOfRepo(Path repo, Path dir, String name) throws Exception {
        Path copy = dir.resolve(name);
        PgSupport.copyTree(repo, copy);
        return copy;
    }
}
