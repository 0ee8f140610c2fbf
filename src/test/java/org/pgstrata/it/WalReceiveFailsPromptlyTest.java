package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * {@code wal receive} that cannot start (its server unreachable) ends at once with its error.
 * Before, its Ctrl-C hook, left registered, waited at exit for a receiver that had already
 * failed: every failure took 30 s more to be reported (a systemd unit's restart, a script's
 * retry, all waited for nothing).
 */
class WalReceiveFailsPromptlyTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), 17, null));
        source.start();
        CliRun init = CliRun.run("repo", "init", "--repo", repo.toString(), "--pgdata", source.pgdata().toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void aReceiverThatCannotConnect_failsAtOnce_withOneLine() throws Exception {
        int nobody = LocalCluster.freePort();
        ChildCli.Finished f = ChildCli.run(Map.of(), List.of(), 60, "wal", "receive", "--repo", repo.toString(), "--host", "127.0.0.1",
                "--port", Integer.toString(nobody), "--user", "postgres");
        assertThat(f.exitCode()).as(f.output()).isEqualTo(16);
        assertThat(f.output().lines().filter(l -> l.startsWith("pgstrata: error:")).toList()).as(f.output()).hasSize(1)
                .allMatch(l -> l.contains("127.0.0.1:" + nobody));
        assertThat(f.seconds()).as("seconds from start to exit; %s", f.output()).isLessThan(15);
    }

    /**
     * A second receiver on a slot that another one streams from fails at once, whatever the
     * slot's name. Before, an error whose text held the word "timeline" (here the slot's own name)
     * was taken for a timeline switch: the receiver reconnected at once, without end, thousands of
     * times a minute, and never said what was wrong.
     */
    @Test
    void aSecondReceiverOnABusySlotNamedTimeline_failsAtOnce_withOneLine() throws Exception {
        String port = Integer.toString(PgSupport.conn(source).port());
        String[] receive = {"wal", "receive", "-q", "--repo", repo.toString(), "--host", "127.0.0.1", "--port", port, "--user", "postgres",
            "--slot", "timeline_a"};
        Process first = ChildCli.start(Map.of(), List.of(), receive);
        try {
            for (int i = 0; i < 300 && !"true".equals(PgSupport.queryString(source,
                    "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'timeline_a'")); i++) {
                assertThat(first.isAlive()).as("the first receiver ended early").isTrue();
                Thread.sleep(100);
            }
            ChildCli.Finished second = ChildCli.run(Map.of(), List.of(), 30, receive);
            assertThat(second.exitCode()).as(second.output()).isEqualTo(ErrorCode.SERVER.exitCode());
            assertThat(second.output().lines().toList()).as(second.output()).singleElement().asString()
                    .startsWith("pgstrata: error:").contains("replication slot \"timeline_a\" is active");
        } finally {
            ChildCli.kill(first);
        }
    }

    /** A slot name PostgreSQL would refuse is a usage error before any connection, not a server failure (exit 19). */
    @Test
    void aSlotNamePostgreSQLRefuses_isAUsageError() {
        for (String slot : new String[] {"Bad-Slot", "x".repeat(64), ""}) {
            CliRun r = CliRun.run("wal", "receive", "--repo", repo.toString(), "--host", "127.0.0.1", "--port",
                    Integer.toString(PgSupport.conn(source).port()), "--user", "postgres", "--slot", slot);
            assertThat(r.exitCode()).as("--slot '%s': %s", slot, r.err()).isEqualTo(2);
            assertThat(r.errLines()).as(r.err()).singleElement().asString().contains("replication slot name");
        }
    }
}
