package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * wal setup --apply on a server that already archives: with archive_mode = always (a standby that
 * archives its own WAL, or a primary ready for demotion), which archives as on does, and with
 * another tool's archive_command in postgresql.conf, which its ALTER SYSTEM overrides.
 */
class WalSetupOverExistingArchivingTest extends PgTest {

    private LocalCluster clusterWith(String name, String conf) {
        PgBinaries bin = PgBinaries.resolve(null, 17, PgSupport.env());
        LocalCluster c = pg.track(LocalCluster.init(dir.resolve(name), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), conf, true)));
        c.start();
        return c;
    }

    private static CliRun apply(Path repo, LocalCluster c) throws InterruptedException {
        CliRun run = CliBackups.ok("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--host", "127.0.0.1",
                "--port", CliBackups.port(c));
        Thread.sleep(500); // the reload reaches the next session
        return run;
    }

    /** Writing 'on' over always left a pending restart nobody was told about, after which such a standby archived nothing. */
    @Test
    void apply_keepsArchiveModeAlways_andNeedsNoRestart() throws Exception {
        LocalCluster c = clusterWith("always", "archive_mode = always\n");
        Path repo = dir.resolve("repo-always");
        assertThat(apply(repo, c).out()).doesNotContain("restart");
        assertThat(PgSupport.queryString(c, "SELECT count(*) FROM pg_settings WHERE pending_restart")).isEqualTo("0");
        c.stop();
        c.start();
        assertThat(PgSupport.queryString(c, "SHOW archive_mode")).isEqualTo("always");
        CliRun check = CliRun.run("check", "-q", "--repo", repo.toString(), "--host", "127.0.0.1", "--port", CliBackups.port(c), "--user",
                "postgres", "--pgdata", c.pgdata().toString());
        assertThat(check.exitCode()).as(check.err()).isZero();
        assertThat(check.out()).contains("ok: archive_command: archive_mode is always and archive_command archives into ");
    }

    /** That tool's archive gets no more WAL: the output names the command replaced; run again, with its own in place, none. */
    @Test
    void apply_namesTheArchiveCommandItReplaces() throws Exception {
        LocalCluster c = clusterWith("other", "archive_mode = on\narchive_command = 'test -n other-tool-%f'\n");
        Path repo = dir.resolve("repo-other");
        assertThat(apply(repo, c).out()).contains("it replaces archive_command 'test -n other-tool-%f', which no longer runs");
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).contains("wal push");
        assertThat(apply(repo, c).out()).doesNotContain("replaces");
    }
}
