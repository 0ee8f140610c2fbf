package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.postgres.Lsn;

/**
 * A restore to an LSN with --target-action shutdown, for tests of what pgstrata reads in the
 * server's log: table t holds ids 1 to 3000 at the end, 1 to 2000 at the target.
 */
final class ShutdownTarget {
    private ShutdownTarget() {
    }

    /** A full backup of {@code source} (archiving into {@code repo}), then rows past it; returns the LSN between 2000 and 3000 rows. */
    static String prepare(LocalCluster source, Path repo) throws Exception {
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
        String lsn = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(2001, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        return lsn;
    }

    /**
     * Checks what the restore said (--json: shut down, at an LSN not before {@code lsn}), then
     * promotes the stopped copy at the same target and checks that it holds the first 2000 rows.
     */
    static void check(JsonNode result, String said, String lsn, LocalCluster copy) throws Exception {
        check(result, said, lsn, copy, "shutdown");
    }

    /** {@link #check(JsonNode, String, String, LocalCluster)} of a restore whose --target-action was {@code action}. */
    static void check(JsonNode result, String said, String lsn, LocalCluster copy, String action) throws Exception {
        assertThat(result.path("state").asText()).as(said).isEqualTo("shut down");
        // PostgreSQL stops at the first record past an inclusive LSN target: never before it
        String stopped = result.path("stoppedAtLsn").asText();
        assertThat(stopped).as(said).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(Lsn.parse(stopped).compareTo(Lsn.parse(lsn))).isGreaterThanOrEqualTo(0);
        assertThat(copy.postmasterAlive()).isFalse();
        Path auto = copy.pgdata().resolve("postgresql.auto.conf");
        Files.writeString(auto, Files.readString(auto).replace("recovery_target_action = '" + action + "'", "recovery_target_action = 'promote'"));
        assertThat(Files.readString(auto)).contains("recovery_target_action = 'promote'");
        copy.start();
        for (int i = 0; i < 300; i++) {
            try {
                if (!"t".equals(PgSupport.queryString(copy, "SELECT pg_is_in_recovery()"))) {
                    break;
                }
            } catch (RuntimeException e) {
                // under hot_standby = off no connection is accepted until the promotion
            }
            Thread.sleep(100);
        }
        assertThat(PgSupport.queryString(copy, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("2000 2000");
    }
}
