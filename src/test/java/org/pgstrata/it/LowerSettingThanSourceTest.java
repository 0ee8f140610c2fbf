package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * The source raised max_connections after its backup, so the WAL replayed says 200 while the
 * copy's configuration (the backup's) says 100. PostgreSQL then pauses recovery at that record,
 * short of the target: restore --start to an LSN past it reported the pause as where recovery
 * stopped and exited 0 (a copy without the rows asked for), a restore to latest blamed missing WAL
 * (25) and a drill to latest recorded the backup as failed. It is now a setting of this copy,
 * exit 20 in one line whose hint (raise it, start again) brings up the copy at its target. A
 * drill, whose copy is scratch, does that itself and passes (before: exit 20, so a drill of a
 * backup older than the change could not pass at all).
 */
class LowerSettingThanSourceTest extends PgTest {
    @Test
    void aCopyWithLowerMaxConnectionsThanTheSourcesWal_saysSoInOneLine_andItsHintRestoresTheTarget() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "ALTER SYSTEM SET max_connections = 200");
        source.stop();
        source.start();
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
        String lsn = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        PgSupport.sql(source, "INSERT INTO t SELECT g FROM generate_series(2001, 3000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", copy.toString(), "--target-lsn", lsn,
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(20);
        assertThat(r.errLines()).as(r.err()).singleElement().asString().startsWith("pgstrata: error: ")
                .contains("max_connections = 100").contains("200").doesNotContain("verify");
        assertThat(restored.postmasterAlive()).isFalse();

        Path auto = copy.resolve("postgresql.auto.conf");
        Files.writeString(auto, "max_connections = 200\n", StandardOpenOption.APPEND);
        restored.start();
        PgSupport.awaitReadWrite(restored, 30);
        assertThat(PgSupport.queryString(restored, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("2000 2000");
        restored.stop();

        CliRun latest = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("latest").toString(), "--target", "latest",
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        pg.trackRestored(dir.resolve("latest"), 17);
        assertThat(latest.exitCode()).as(latest.err()).isEqualTo(20);
        assertThat(latest.errLines()).as(latest.err()).singleElement().asString().contains("max_connections = 100");

        // A drill's copy is scratch: it takes the source's value and goes on to the target, and says so
        ChildCli.Finished drill = ChildCli.run(java.util.Map.of(), java.util.List.of(), 180, "drill", "-q", "--json", "--repo", repo.toString(),
                "--target", "latest", "--scratch-dir", dir.resolve("drills").toString());
        assertThat(drill.exitCode()).as(drill.output()).isZero();
        assertThat(drill.output()).contains("warning: the copy's max_connections = 100 is lower than the 200").contains("raised to 200");
        var record = new com.fasterxml.jackson.databind.ObjectMapper().readTree(drill.output().substring(drill.output().indexOf('{')));
        assertThat(record.path("result").asText()).isEqualTo("passed");
        assertThat(org.pgstrata.postgres.Lsn.parse(record.path("stoppedAt").asText())).as("recovered past the rows inserted under 200")
                .isGreaterThan(org.pgstrata.postgres.Lsn.parse(lsn));
        assertThat(CliBackups.ok("list", "--repo", repo.toString()).out()).doesNotContain("failed");
    }
}
