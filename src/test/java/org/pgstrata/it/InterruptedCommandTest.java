package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A command stopped by SIGTERM (or Ctrl-C) rather than kill -9: it exited 143 (130) and said
 * nothing at all, so that a restore interrupted mid-way looked, in a log, like one that ended.
 * It now says in one line that it was interrupted and what that leaves; the repository stays
 * sound and the next restore works.
 */
class InterruptedCommandTest extends PgTest {
    @Test
    void aRestoreStoppedBySigterm_saysItWasInterrupted_inOneLine() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String id = CliBackups.backupId(repo, source, "full");

        Path copy = dir.resolve("copy");
        Path log = dir.resolve("restore.log");
        Process restore = ChildCli.startLogged(Map.of("PGSTRATA_TEST_PAUSE_AT", "restore-checked"), log,
                "restore", "--repo", repo.toString(), "--backup", id, "--to", copy.toString());
        try {
            ChildCli.awaitInLog(restore, log, "test hook: pausing at restore-checked", 120);
            restore.destroy(); // SIGTERM
            assertThat(restore.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            ChildCli.kill(restore);
        }
        String out = Files.readString(log);
        assertThat(restore.exitValue()).as(out).isEqualTo(143);
        assertThat(out.lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(out).hasSize(1)
                .allMatch(l -> l.contains("interrupted (Ctrl-C or SIGTERM)"));
        assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();
        assertThat(CliRun.run("restore", "--repo", repo.toString(), "--backup", id, "--to", dir.resolve("copy2").toString(), "-q").exitCode()).isZero();
    }
}
