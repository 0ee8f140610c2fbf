package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A mistyped command or option: one line, exit 2, and the nearest real ones to try. */
class SuggestionsTest {
    private static String error(String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        return r.err();
    }

    @Test
    void aMistypedCommand_isAnsweredWithTheNearestCommands() {
        assertThat(error("bakup")).contains("did you mean 'backup'?");
        assertThat(error("lsit")).contains("did you mean 'list'?");
        assertThat(error("drll", "--repo", "/nowhere")).contains("did you mean 'drill'?");
        assertThat(error("repo", "int")).contains("did you mean 'init'?");
        assertThat(error("xyzzy")).doesNotContain("did you mean").contains("see 'pgstrata --help'");
    }

    @Test
    void aMistypedOption_isAnsweredWithTheNearestOptionsOfThatCommand() {
        assertThat(error("backup", "--tpye", "full")).contains("did you mean '--type'?").contains("'pgstrata backup --help'");
        assertThat(error("backup", "--typ", "incr")).contains("did you mean '--type'?");
        assertThat(error("restore", "--targt-time=2026-12-01")).contains("did you mean '--target-time'?");
        assertThat(error("status", "--max-backup-agee", "1d")).contains("did you mean '--max-backup-age'?");
        assertThat(error("list", "--completely-else")).doesNotContain("did you mean");
    }
}
