package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --start (and a drill) into a directory whose name holds a line break. PostgreSQL writes
 * the data directory as it is into postmaster.pid, one value a line, and then places the lines
 * after it by counting lines: the file comes out malformed. Before, pgstrata read the start time
 * as the port: "invalid port 1796423818" (exit 2, as if the user had given it) while the server
 * it had just started kept running, unchecked and unreported; a drill into such a scratch
 * directory broke postgresql.auto.conf (its socket directory named in a comment line) and
 * recorded the sound backup as FAILED (exit 49). Now both are refused, before anything is written
 * or started, in one line; the same backup restores and drills elsewhere.
 */
class RestoreStartNewlineTargetTest extends PgTest {

    @Test
    void restoreStart_andDrill_intoADirectoryWithALineBreak_areRefusedBeforeAnything() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster source = pg.start("source", major);
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        Map<String, ContentChecksum.Result> content = ClusterContent.of(source);
        Path repo = dir.resolve("repo");
        String backup = CliBackups.backupId(repo, source, "full");

        Path target = dir.resolve("restored\nsecond line");
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", target.toString(), "--start", "--port", Integer.toString(port));
        if (Files.isRegularFile(target.resolve("PG_VERSION"))) {
            pg.trackRestored(target, major); // stopped at the end, whatever the restore said
        }
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isEqualTo(2);
        assertThat(r.errLines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains("line break").doesNotContain("invalid port");
        assertThat(target).doesNotExist();

        Path scratch = dir.resolve("scratch\nsecond line");
        CliRun drill = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", scratch.toString(), "--backup", backup, "--json");
        assertThat(drill.exitCode()).as("%s %s", drill.out(), drill.err()).isEqualTo(2);
        assertThat(drill.errLines()).as(drill.err()).hasSize(1);
        CliRun list = CliRun.run("list", "--repo", repo.toString(), "--json");
        assertThat(list.out()).as("no drill recorded").doesNotContain("failed");

        // The same backup, elsewhere: restored, started and proven by its content
        LocalCluster restored = pg.restoreAndStart(repo, backup, "restored", major);
        assertThat(ClusterContent.of(restored)).isEqualTo(content);
    }
}
