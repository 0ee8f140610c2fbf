package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.wal.WalPush;

/**
 * wal setup --apply on a cluster whose server crashed (killed, or the host lost power): its
 * postmaster.pid stays behind, naming a process that is gone. cluster status says "stopped", as
 * pg_ctl does, but wal setup took the file for a running server, tried ALTER SYSTEM and failed with
 * "cannot connect" (exit 16). It now appends to postgresql.auto.conf, as for any stopped cluster.
 */
class WalSetupAfterCrashTest extends PgTest {
    @Test
    void walSetupApply_afterACrash_writesTheSettings_andTheServerArchivesWithThem() throws Exception {
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("data"), LocalCluster.freePort(), 17, null, null));
        c.start();
        long pid = Long.parseLong(Files.readAllLines(c.pgdata().resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        java.util.List<ProcessHandle> children = postmaster.children().toList();
        postmaster.destroyForcibly();
        postmaster.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        for (ProcessHandle child : children) {
            child.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS); // they leave on the postmaster's death
        }
        assertThat(c.pgdata().resolve("postmaster.pid")).exists();

        Path repo = dir.resolve("repo");
        CliRun r = CliRun.run("wal", "setup", "--apply", "-D", c.pgdata().toString(), "--repo", repo.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("appended to " + c.pgdata().resolve("postgresql.auto.conf"));

        c.start();
        assertThat(PgSupport.queryString(c, "SHOW archive_mode")).isEqualTo("on");
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).isEqualTo(WalPush.archiveCommand(repo.toString()));
        CliRun check = CliRun.run("check", "-q", "--check-timeout", "30", "-D", c.pgdata().toString(), "--repo", repo.toString());
        assertThat(check.exitCode()).as(check.err()).isZero();
    }
}
