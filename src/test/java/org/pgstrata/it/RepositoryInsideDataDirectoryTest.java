package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A repository directory inside the data directory it backs up: each backup copied the
 * repository, its earlier backups included, into itself (the second full of a small cluster held
 * twice the first), and a restore brought back a stale copy of the repository inside the restored
 * cluster. repo init and backup refuse it (exit 2) before writing anything, also when the path
 * reaches the data directory through a symbolic link; a directory beside it is fine.
 */
class RepositoryInsideDataDirectoryTest extends PgTest {

    @Test
    void repositoryInsideTheDataDirectory_isRefused_beforeAnythingIsWritten() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path pgdata = source.pgdata();
        Path inside = pgdata.resolve("backups").resolve("repo");

        CliRun init = CliRun.run("repo", "init", "--repo", inside.toString(), "--pgdata", pgdata.toString());
        assertThat(init.exitCode()).as(init.err()).isEqualTo(2);
        assertThat(init.err()).contains("inside the data directory");
        assertThat(pgdata.resolve("backups")).doesNotExist();

        CliRun backup = CliRun.run("backup", "-q", "--repo", inside.toString(), "--pgdata", pgdata.toString(), "--port", CliBackups.port(source));
        assertThat(backup.exitCode()).as(backup.err()).isEqualTo(2);
        assertThat(backup.err()).contains("inside the data directory");
        assertThat(pgdata.resolve("backups")).doesNotExist();

        Path link = Files.createSymbolicLink(dir.resolve("link"), pgdata);
        CliRun viaLink = CliRun.run("backup", "-q", "--repo", link.resolve("repo").toString(), "--pgdata", pgdata.toString(), "--port",
                CliBackups.port(source));
        assertThat(viaLink.exitCode()).as(viaLink.err()).isEqualTo(2);
        assertThat(pgdata.resolve("repo")).doesNotExist();

        // Beside it, with a name that starts like it: a repository as any other.
        Path beside = pgdata.resolveSibling(pgdata.getFileName() + "-repo");
        String id = CliBackups.backupId(beside, source, "full");
        assertThat(PgSupport.facade().list(beside.toString())).hasSize(1).first().extracting(b -> b.id()).isEqualTo(id);
    }
}
