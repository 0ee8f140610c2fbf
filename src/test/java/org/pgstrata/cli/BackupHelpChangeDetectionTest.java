package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * backup --help said that changed pages "are told by their LSN", which the code has not done
 * since block maps (docs/physical.md: page LSNs decide nothing; pg_checksums --enable, SP-GiST's
 * metapage and a copy restored from an older backup change bytes without moving them). It says
 * what decides: the bytes, compared with the reference backup's block hashes.
 */
class BackupHelpChangeDetectionTest {

    @Test
    void backupHelp_saysPagesAreComparedByContent_notByLsn() {
        CliRun r = CliRun.run("backup", "--help");
        assertThat(r.exitCode()).isZero();
        String help = r.out().replaceAll("\\s+", " ");
        assertThat(help).doesNotContain("told by their LSN").contains("its bytes differ from the reference backup's");
    }
}
