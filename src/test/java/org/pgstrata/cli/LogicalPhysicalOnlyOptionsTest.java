package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The options of today's physical features are refused with --logical, as --to, --start, --delta,
 * --target-* and --compress-level are, rather than silently ignored (the help says "Physical
 * backups only"; a logical restore puts no tablespace anywhere the user named).
 */
class LogicalPhysicalOnlyOptionsTest {
    @TempDir
    Path dir;

    @Test
    void restoreLogical_refusesTablespaceMap() {
        CliRun r = CliRun.run("restore", "--logical", "--repo", dir.resolve("repo").toString(), "--to-db", "x", "--port", "57599",
                "--tablespace-map", "16384=" + dir.resolve("ts"));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("--tablespace-map").contains("not to --logical");
    }

    @Test
    void backupLogical_refusesCheckpoint() {
        CliRun r = CliRun.run("backup", "--logical", "--repo", dir.resolve("repo").toString(), "--port", "57599", "--checkpoint", "spread");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("--checkpoint applies to physical backups only");
    }
}
