package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * A server that already archives with another command (another tool's, in postgresql.conf):
 * wal setup --apply's ALTER SYSTEM wins over it, so that tool's archive gets no more WAL. The
 * output names the command replaced; run again, with its own command in place, it names none.
 */
class WalSetupReplacesArchiveCommandTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster c;

    @BeforeAll
    static void setUp() {
        pg = new PgSupport(dir);
        PgBinaries bin = PgBinaries.resolve(null, 17, PgSupport.env());
        c = pg.track(LocalCluster.init(dir.resolve("other"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(),
                "archive_mode = on\narchive_command = 'test -n other-tool-%f'\n", true)));
        c.start();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void apply_namesTheArchiveCommandItReplaces() throws Exception {
        Path repo = dir.resolve("repo");
        CliRun run = CliBackups.ok("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--host", "127.0.0.1",
                "--port", CliBackups.port(c));
        assertThat(run.out()).contains("it replaces archive_command 'test -n other-tool-%f', which no longer runs");
        Thread.sleep(500); // the reload reaches the next session
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).contains("wal push");
        run = CliBackups.ok("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--host", "127.0.0.1",
                "--port", CliBackups.port(c));
        assertThat(run.out()).doesNotContain("replaces");
    }
}
