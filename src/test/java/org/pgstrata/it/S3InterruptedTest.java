package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.s3.S3Server;

/**
 * Backups to and restores from an S3 repository, stopped by SIGTERM or kill -9 part-way (the
 * interruption tests had covered directory repositories only). Held on main when written: nothing
 * partial is listed, verify finds no problem, the next backup takes the dead writer's lease over
 * without waiting it out, and restore --delta into the interrupted target comes back equal to
 * the source. A guard.
 */
class S3InterruptedTest extends PgTest {

    private static String[] with(S3Server server, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(server.arguments("bucket", "repo"));
        return all.toArray(String[]::new);
    }

    private static Map<String, String> env(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(S3Server.environment());
        env.putAll(extra);
        return env;
    }

    private static void stop(Process p, boolean kill9) throws Exception {
        if (kill9) {
            ChildCli.kill(p);
        } else {
            p.destroy();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void backupToS3_interrupted_thenTheNextBackupRunsAtOnce_andRestores() throws Exception {
        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        try (S3Server server = S3Server.inMemory()) {
            String location = server.location("bucket", "repo");
            for (boolean kill9 : new boolean[] {false, true}) {
                Path log = dir.resolve("backup-" + kill9 + ".log");
                Process b = ChildCli.startLogged(env(Map.of("PGSTRATA_TEST_PAUSE_AFTER_FILES", "100")), log,
                        with(server, "backup", "--pgdata", src.pgdata().toString(), "--port", CliBackups.port(src)));
                try {
                    // stopped once paused after 100 files, with their objects written and no manifest: not after a fixed
                    // sleep, which a loaded machine outran (the child had not reached its pause, or even the lease)
                    ChildCli.awaitInLog(b, log, "test hook: pausing after 100 files", 120);
                    try (Repository r = Repository.open(location)) {
                        assertThat(r.incompleteBackups()).as("objects of the paused backup").hasSize(1);
                    }
                    stop(b, kill9);
                } finally {
                    ChildCli.kill(b);
                }
                String out = Files.readString(log);
                assertThat(b.exitValue()).as(out).isEqualTo(kill9 ? 137 : 143);
                if (!kill9) {
                    assertThat(out.lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(out).hasSize(1);
                }
                CliRun list = CliRun.run(with(server, "list", "--json"));
                assertThat(list.out()).as(list.err()).doesNotContain("\"id\"");
                VerifyResult v = PgSupport.facade().verify(location, null);
                assertThat(v.problems()).isEmpty();
            }
            long t0 = System.nanoTime();
            CliRun again = CliRun.run(with(server, "backup", "-q", "--pgdata", src.pgdata().toString(), "--port", CliBackups.port(src)));
            assertThat(again.exitCode()).as(again.err()).isZero();
            // a dead writer's lease is taken over at once, not waited out (60 s)
            assertThat((System.nanoTime() - t0) / 1e9).isLessThan(50);
            VerifyResult v = PgSupport.facade().verify(location, null);
            assertThat(v.problems()).isEmpty();
            assertThat(v.incomplete()).as(v.toString()).isEmpty();
            var content = ClusterContent.of(src);

            // a restore from S3 stopped part-way, then again into the same target with --delta
            for (boolean kill9 : new boolean[] {false, true}) {
                Path target = dir.resolve("copy-" + kill9);
                Path log = dir.resolve("restore-" + kill9 + ".log");
                Process r = ChildCli.startLogged(env(kill9 ? Map.of("PGSTRATA_TEST_HALT_AT", "restore-files-written")
                        : Map.of("PGSTRATA_TEST_PAUSE_AT", "restore-checked")), log, with(server, "restore", "--to", target.toString()));
                try {
                    if (kill9) {
                        assertThat(r.waitFor(120, TimeUnit.SECONDS)).isTrue();
                    } else {
                        ChildCli.awaitInLog(r, log, "test hook: pausing at restore-checked", 120);
                        stop(r, false);
                    }
                } finally {
                    ChildCli.kill(r);
                }
                String out = Files.readString(log);
                assertThat(r.exitValue()).as(out).isEqualTo(kill9 ? 137 : 143);
                CliRun delta = CliRun.run(with(server, "restore", "-q", "--delta", "--to", target.toString(), "--start",
                        "--port", Integer.toString(LocalCluster.freePort())));
                assertThat(delta.exitCode()).as(delta.err()).isZero();
                LocalCluster copy = pg.trackRestored(target, 17);
                assertThat(ClusterContent.of(copy)).isEqualTo(content);
                copy.stop();
            }
        }
    }
}
