package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * drill run with PGUSER a role that exists but is no superuser: the server lets it in, so the
 * exit code of a refused login (33) would send the user to pg_hba.conf and passwords. The refusal
 * must say what is missing (a superuser) in one line, with the documented exit code of a role
 * that lacks what a command needs (20), and record no drill.
 */
class DrillNotSuperuserTest extends PgTest {

    @Test
    void drillAsARoleThatIsNoSuperuser_isRefusedForWhatItLacks() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "CREATE ROLE watcher LOGIN");
        PgSupport.fullBackup(repo, a);

        ChildCli.Finished r = ChildCli.run(Map.of("PGUSER", "watcher"), List.of(), 180, "drill", "--repo", repo.toString(),
                "--scratch-dir", dir.resolve("scratch").toString());
        List<String> errors = r.output().lines().filter(l -> l.startsWith("pgstrata: error:")).toList();
        assertThat(errors).as(r.output()).hasSize(1);
        assertThat(errors.get(0)).contains("watcher").contains("not a superuser");
        assertThat(r.exitCode()).as(r.output()).isEqualTo(20);
        assertThat(repo.resolve("drill")).as("no drill recorded").satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
                p -> assertThat(p).isEmptyDirectory());
    }
}
