package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/** wal receive ended by SIGTERM (its normal end, like Ctrl-C): prompt, no error line, what it flushed is archived, the next one resumes. */
class WalReceiveInterruptedTest extends PgTest {
    @Test
    void aReceiverEndedBySigterm_endsCleanly_andTheNextResumes() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        CliRun init = CliRun.run("repo", "init", "--repo", repo.toString(), "--pgdata", source.pgdata().toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        String port = Integer.toString(PgSupport.conn(source).port());
        String[] receive = {"wal", "receive", "--repo", repo.toString(), "--host", "127.0.0.1", "--port", port, "--user", "postgres"};
        Path log = dir.resolve("receive.log");
        Process r = ChildCli.startLogged(Map.of(), log, receive);
        try {
            for (int i = 0; i < 300 && archived(repo) < 3; i++) {
                PgSupport.sql(source, "CREATE TABLE IF NOT EXISTS t (id int)", "INSERT INTO t SELECT generate_series(1, 20000)", "SELECT pg_switch_wal()");
                Thread.sleep(200);
            }
            PgSupport.sql(source, "INSERT INTO t SELECT generate_series(1, 50000)"); // a segment under way
            long t0 = System.nanoTime();
            r.destroy();
            assertThat(r.waitFor(60, TimeUnit.SECONDS)).isTrue();
            double s = (System.nanoTime() - t0) / 1e9;
            String out = Files.readString(log);
            assertThat(out).as("Ctrl-C or SIGTERM is how a receiver ends: no error").doesNotContain("error").contains("flushed up to");
            // The slot gave up only what is archived: its position is the flushed one
            String flushed = out.replaceAll("(?s).*flushed up to (\\S+).*", "$1").trim();
            assertThat(PgSupport.queryString(source, "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'pgstrata'")).isEqualTo(flushed);
            assertThat(s).isLessThan(10);
        } finally {
            ChildCli.kill(r);
        }
        var v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
    }

    private static long archived(Path repo) throws Exception {
        if (!Files.exists(repo.resolve("archive"))) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            return s.filter(Files::isRegularFile).count();
        }
    }
}
