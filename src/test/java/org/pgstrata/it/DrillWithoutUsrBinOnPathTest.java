package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * A drill run with a PATH that lacks /usr/bin (a container's PATH of /opt/java/bin alone, env -i,
 * a unit that sets its own PATH): as root, the restored copy's server runs in a user namespace
 * through unshare, which was looked up on PATH. Its start failed (exit 127 of setsid: "failed to
 * execute unshare"), and the drill recorded the sound backup as FAILED, telling the user not to
 * rely on it. unshare is found where the system keeps it, as setsid is, whatever PATH says.
 */
class DrillWithoutUsrBinOnPathTest extends PgTest {

    @Test
    void drillWithPathWithoutUsrBin_provesTheBackup() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.fullBackup(repo, a);
        Path emptyBin = Files.createDirectories(dir.resolve("empty-bin"));

        ChildCli.Finished r = ChildCli.run(Map.of("PATH", emptyBin.toString()), List.of(), 180, "drill", "--repo", repo.toString(),
                "--scratch-dir", dir.resolve("scratch").toString());
        assertThat(r.output()).as("as root (%s), the server runs through unshare", PgBinaries.isRoot()).contains("PASSED")
                .doesNotContain("FAILED").doesNotContain("unshare");
        assertThat(r.exitCode()).as(r.output()).isZero();
    }
}
