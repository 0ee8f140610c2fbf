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
 * exit 20 in one line whose hint (raise it, start again) brings up the copy at its target.
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

        CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--target", "latest", "--scratch-dir", dir.resolve("drills").toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isEqualTo(20);
        assertThat(drill.errLines()).as(drill.err()).singleElement().asString().contains("max_connections = 100");
        assertThat(CliBackups.ok("list", "--repo", repo.toString()).out()).as("no drill is recorded against the backup").doesNotContain("failed");
    }
}
