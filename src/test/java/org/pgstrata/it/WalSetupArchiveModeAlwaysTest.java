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
 * archive_mode = always (a standby that archives its own WAL, or a primary set so to be ready for
 * promotion and demotion) archives as on does: wal setup --apply keeps it. Writing 'on' left a
 * pending restart nobody was told about, after which such a standby archived nothing.
 */
class WalSetupArchiveModeAlwaysTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster c;

    @BeforeAll
    static void setUp() {
        pg = new PgSupport(dir);
        PgBinaries bin = PgBinaries.resolve(null, 17, PgSupport.env());
        c = pg.track(LocalCluster.init(dir.resolve("always"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), "archive_mode = always\n", true)));
        c.start();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void apply_keepsArchiveModeAlways_andNeedsNoRestart() throws Exception {
        Path repo = dir.resolve("repo");
        CliRun run = CliBackups.ok("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--host", "127.0.0.1",
                "--port", CliBackups.port(c));
        assertThat(run.out()).doesNotContain("restart");
        Thread.sleep(500); // the reload reaches the next session
        assertThat(PgSupport.queryString(c, "SELECT count(*) FROM pg_settings WHERE pending_restart")).isEqualTo("0");
        c.stop();
        c.start();
        assertThat(PgSupport.queryString(c, "SHOW archive_mode")).isEqualTo("always");
        CliRun check = CliRun.run("check", "-q", "--repo", repo.toString(), "--host", "127.0.0.1", "--port", CliBackups.port(c), "--user",
                "postgres", "--pgdata", c.pgdata().toString());
        assertThat(check.exitCode()).as(check.err()).isZero();
        assertThat(check.out()).contains("ok: archive_command: archive_mode is always and archive_command archives into ");
    }
}
