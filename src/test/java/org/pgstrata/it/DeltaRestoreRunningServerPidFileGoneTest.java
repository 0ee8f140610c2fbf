package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A server runs on a data directory whose postmaster.pid is gone (removed by hand or by a
 * cleanup script; PostgreSQL notices only at its next check, up to a minute later). restore
 * --delta took the directory for a stopped one and rewrote its files under the running server.
 * It now also looks for a postgres process working in the directory, and refuses.
 */
class DeltaRestoreRunningServerPidFileGoneTest extends PgTest {

    @Test
    void aServerWithoutItsPidFile_isStillSeenRunning_andNothingChanges() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "CREATE TABLE after_backup (n int)", "INSERT INTO after_backup SELECT generate_series(1, 1000)", "CHECKPOINT");
        Map<String, ContentChecksum.Result> now = ClusterContent.of(src);

        Path pidFile = src.pgdata().resolve("postmaster.pid");
        String pid = Files.readString(pidFile);
        Files.delete(pidFile);
        CliRun r = CliRun.run("restore", "-q", "--delta", "--repo", repo.toString(), "--to", src.pgdata().toString());
        Files.writeString(pidFile, pid);

        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.SERVER_RUNNING.exitCode());
        assertThat(r.errLines()).singleElement().asString().startsWith("pgstrata: error: cannot delta-restore into " + src.pgdata()
                + ": a server is running there (postgres process ").contains("works in the directory").contains("; hint: stop the server first");
        assertThat(ClusterContent.proof(src)).as("the running server's data").isEqualTo(now);
    }
}
