package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A restore to an LSN before a CREATE TABLESPACE, with --target-action shutdown, writes
 * restore_command with --replay-until that LSN. Recovering further is PostgreSQL's usual next
 * step: take the target out of postgresql.auto.conf and start the copy again. restore_command
 * still carries the old bound, so the creation past it is not refused, and the copy links itself
 * to the source's tablespace.
 */
class TablespaceBoundAfterTargetMovedTest extends PgTest {

    @Test
    void aCopyWhoseTargetIsTakenOut_afterARestoreToAnEarlierLsn_isStillStoppedBeforeTheCreation() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "UPDATE a SET v = 'after the backup' WHERE id % 10 = 0");
        String lsnBefore = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        Path location = Files.createDirectory(dir.resolve("late ts"));
        PgSupport.sql(source, "CREATE TABLESPACE late LOCATION '" + location + "'",
                "CREATE TABLE lt TABLESPACE late AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        Map<String, String> sourceFiles = PgSupport.snapshot(location);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsnBefore, "--target-action",
                "shutdown", "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.err()).isZero();
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(restored.postmasterAlive()).isFalse();
        // Recover further: the target taken out, as PostgreSQL's documentation has it
        Path auto = copy.resolve("postgresql.auto.conf");
        List<String> lines = Files.readAllLines(auto).stream().filter(l -> !l.startsWith("recovery_target")).toList();
        Files.write(auto, lines);
        Throwable started = null;
        try {
            restored.start();
        } catch (RuntimeException e) {
            started = e;
        }
        List<Path> links;
        try (var l = Files.list(copy.resolve("pg_tblspc"))) {
            links = l.toList();
        }
        if (started == null && restored.postmasterAlive()) {
            for (int i = 0; i < 100 && "t".equals(PgSupport.queryString(restored, "SELECT pg_is_in_recovery()")); i++) {
                Thread.sleep(100);
            }
            PgSupport.sql(restored, "DROP TABLE lt", "CHECKPOINT");
        }
        assertThat(ClusterContent.of(source)).as("the source's content").isEqualTo(sourceContent);
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
        assertThat(links).as("the copy's tablespace links").isEmpty();
        assertThat(restored.serverLogLine("holds another cluster's tablespace")).as(restored.serverLogTail()).contains(location.toString());
    }
}
