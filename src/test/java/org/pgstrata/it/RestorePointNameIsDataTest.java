package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A restore point's name is data: whoever may create one (pg_create_restore_point can be granted)
 * chooses its bytes, a line break among them. A point-in-time restore to it wrote the name into
 * a comment of the copy's postgresql.auto.conf, where what followed the line break was read as a
 * setting (here one that runs a command when recovery ends); and PostgreSQL itself cannot end a
 * recovery there (the new timeline's history file quotes the name and does not read back). Such
 * a name is refused as a target before anything is written, and restore-point does not create one.
 */
class RestorePointNameIsDataTest extends PgTest {
    private static final String NAME = "rp\nrecovery_end_command = 'touch ran' #";

    @Test
    void aRestorePointNameWithALineBreak_isRefusedAsATarget_beforeAnythingIsWritten_andNotCreated() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        CliBackups.backup(repo, source, "full");
        PgSupport.sql(source, "SELECT pg_create_restore_point(E'" + NAME.replace("\n", "\\n").replace("'", "''") + "')", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        Path target = dir.resolve("restored");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", target.toString(), "--target-name", NAME, "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid --target-name").contains("line break").contains("--target-lsn");
        assertThat(target).doesNotExist();

        CliRun create = CliRun.run("restore-point", "--port", CliBackups.port(source), NAME);
        assertThat(create.exitCode()).as(create.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(create.errLines()).hasSize(1);
    }
}
