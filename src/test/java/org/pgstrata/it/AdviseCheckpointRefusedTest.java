package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * advise as a role that may read the settings but not run CHECKPOINT (no superuser, not in
 * pg_checkpoint): the server answered and refused the statement, yet advise exited 16, the code of
 * a server that cannot be reached, which sends a monitor or a script to the network and pg_hba.conf.
 * A refused statement is exit 19, as the same command's refused setting is.
 */
class AdviseCheckpointRefusedTest extends PgTest {
    @Test
    void adviseAsARoleThatMayNotCheckpoint_exitsAsARefusedStatement() throws Exception {
        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "CREATE ROLE watcher LOGIN", "GRANT pg_read_all_settings TO watcher");
        Path repo = dir.resolve("repo");
        PgSupport.fullBackup(repo, src);

        CliRun r = CliRun.run("advise", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "--port",
                Integer.toString(PgSupport.conn(src).port()), "--user", "watcher", "--scratch-dir", dir.toString(), "--sample-seconds", "0.3", "-q");
        List<String> errors = r.err().lines().filter(l -> l.startsWith("pgstrata: error:")).toList();
        assertThat(errors).as(r.err()).singleElement().asString().contains("CHECKPOINT").contains("pg_checkpoint");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(19);
    }
}
