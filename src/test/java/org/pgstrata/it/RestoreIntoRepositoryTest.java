package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A restore into a directory inside the repository (say repo/backup/copy) was written there, exit
 * 0; verify then listed the copy as an incomplete backup, and the next backup removed it as a
 * leftover, a server running in it or not. Such a target is refused now, as a repository inside
 * the data directory already was, before anything is written.
 */
class RestoreIntoRepositoryTest extends PgTest {

    @Test
    void aTargetInsideTheRepository_isRefused_andTheNextBackupHasNothingToRemove() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        for (Path target : new Path[] {repo.resolve("backup/copy"), repo.resolve("restored"), Files.createSymbolicLink(dir.resolve("via-link"), repo).resolve("x")}) {
            CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", target.toString());
            assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).singleElement().asString().contains(target.toString()).contains("inside the repository")
                    .contains("nothing was written");
            assertThat(target).doesNotExist();
        }
        // a tablespace mapped into it likewise
        PgSupport.sql(src, "CREATE TABLESPACE ts LOCATION '" + Files.createDirectories(dir.resolve("ts")) + "'");
        String oid = PgSupport.queryString(src, "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
        CliBackups.backupId(repo, src, "full");
        Path mapped = repo.resolve("ts-copy");
        CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("copy").toString(), "--tablespace-map",
                oid + "=" + mapped);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).singleElement().asString().contains(mapped.toString()).contains("inside the repository");
        assertThat(mapped).doesNotExist();
        assertThat(dir.resolve("copy")).doesNotExist();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).doesNotContain("incomplete backup");
    }
}
