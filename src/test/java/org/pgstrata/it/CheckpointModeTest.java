package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/** --checkpoint spread starts the backup with the server's own paced checkpoint; fast (the default) with an immediate one. */
class CheckpointModeTest extends PgTest {

    @Test
    void spreadAndFastCheckpoints_asTheServerLogsThem() throws Exception {
        LocalCluster source = pg.start("source", 17);
        // A paced checkpoint takes checkpoint_completion_target of checkpoint_timeout: a few seconds here, not minutes.
        PgSupport.sql(source, "ALTER SYSTEM SET checkpoint_timeout = '30s'", "ALTER SYSTEM SET checkpoint_completion_target = 0.1",
                "ALTER SYSTEM SET log_checkpoints = on", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        Path log = source.pgdata().resolve(LocalCluster.LOG_FILE);

        long before = Files.size(log);
        String spread = CliBackups.run("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(),
                "--port", CliBackups.port(source), "--checkpoint", "spread").get("id").asText();
        String during = Files.readString(log).substring((int) before);
        assertThat(during).contains("checkpoint starting: force wait").doesNotContain("immediate");
        var atSpread = ClusterContent.of(source);

        before = Files.size(log);
        CliBackups.backup(repo, source, "full");
        assertThat(Files.readString(log).substring((int) before)).contains("checkpoint starting: immediate force wait");

        CliRun bad = CliRun.run("backup", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--checkpoint", "slow");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.errLines()).singleElement().asString().contains("--checkpoint is fast or spread, not 'slow'");

        LocalCluster restored = pg.restoreAndStart(repo, spread, "restored", 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(atSpread);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
    }
}
