package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A restore into a new directory killed after its files and the backup's WAL were written, before
 * backup_label and the recovery settings: the directory held pg_control already. A server started
 * on it (by hand, or by a service manager that finds a data directory) ran crash recovery from
 * pg_control's own checkpoint, without backup_label, and came up read-write: what recovery from a
 * copy without backup_label may silently corrupt, and what a restore killed earlier, with files
 * missing, would have started too. Now pg_control is written last, and such a directory does not
 * start. Until then the backup's pg_control waits under the name a delta restore sets the old one
 * aside with: running the restore again with --delta finishes the directory (without it, the
 * restore said "add --delta", and --delta said it was not a data directory). Killed earlier, while
 * the files were being written, PG_VERSION was not there yet, and the same two refusals sent the
 * user to each other again.
 */
class KillDuringRestoreTest extends PgTest {

    @Test
    void aRestoreKilledBeforeItsLastStep_leavesADirectoryThatNoServerStarts() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.start("source", 17); // no archive: the backup holds its WAL, and the restore puts it in pg_wal
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        String full = CliBackups.backupId(repo, source, "full");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);

        Path target = dir.resolve("killed");
        Map<String, String> env = new HashMap<>(PgSupport.env());
        env.put("PGSTRATA_TEST_HALT_AT", "restore-files-written");
        ChildCli.Finished killed = ChildCli.run(env, List.of(), 300, "restore", "-q", "--repo", repo.toString(), "--backup", full, "--to",
                target.toString());
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        assertThat(target.resolve("PG_VERSION")).as("the files were written").isRegularFile();
        assertThat(target.resolve("global/pg_control")).doesNotExist();

        LocalCluster copy = pg.trackRestored(target, 17);
        assertThatThrownBy(() -> copy.start(LocalCluster.freePort())).as("a server started on the killed restore's directory");
        assertThat(copy.postmasterAlive()).isFalse();

        // Run again there: refused without --delta, as a restore that did not finish; --delta finishes it, proven by content.
        CliRun refused = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", target.toString());
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(10);
        assertThat(refused.errLines()).singleElement().asString().contains("holds a restore that did not finish").contains("add --delta");
        CliBackups.Restored finished = CliBackups.restore(pg, repo, target, 17, "--backup", full, "--delta");
        assertThat(target.resolve("global/pg_control.pgstrata-delta")).doesNotExist();
        assertThat(ClusterContent.of(finished.cluster())).isEqualTo(atFull);
        finished.cluster().stop();

        // Killed earlier, while it wrote the files: the backup's pg_control is set aside and PG_VERSION (among the last
        // written) is not there yet. Without --delta the restore said "add --delta", and --delta said it was not a data
        // directory ("no PG_VERSION or global/pg_control", exit 12): each sent the user to the other.
        Path early = dir.resolve("killed-early");
        env.put("PGSTRATA_TEST_HALT_AT", "restore-control-aside");
        ChildCli.Finished killedEarly = ChildCli.run(env, List.of(), 300, "restore", "-q", "--repo", repo.toString(), "--backup", full,
                "--to", early.toString());
        assertThat(killedEarly.exitCode()).as(killedEarly.output()).isEqualTo(137);
        assertThat(early.resolve("global/pg_control.pgstrata-delta")).isRegularFile();
        assertThat(early.resolve("PG_VERSION")).doesNotExist();
        // Started as it is, it is refused with the way to finish it (it said "not a PostgreSQL data directory; pass --pgdata
        // the directory the server runs on").
        CliRun notStarted = CliRun.run("cluster", "start", "-D", early.toString(), "-p", Integer.toString(LocalCluster.freePort()));
        assertThat(notStarted.exitCode()).as(notStarted.err()).isEqualTo(12);
        assertThat(notStarted.errLines()).singleElement().asString().contains("holds a restore that did not finish").contains("restore --delta");
        CliRun refusedEarly = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", early.toString());
        assertThat(refusedEarly.exitCode()).as(refusedEarly.err()).isEqualTo(10);
        assertThat(refusedEarly.errLines()).singleElement().asString().contains("holds a restore that did not finish").contains("add --delta");
        CliBackups.Restored finishedEarly = CliBackups.restore(pg, repo, early, 17, "--backup", full, "--delta");
        assertThat(early.resolve("global/pg_control.pgstrata-delta")).doesNotExist();
        assertThat(ClusterContent.of(finishedEarly.cluster())).isEqualTo(atFull);
        assertThat(ClusterContent.amcheck(finishedEarly.cluster())).isEmpty();
        finishedEarly.cluster().stop();

        // Run again into a new directory, the restore is whole
        CliBackups.Restored again = CliBackups.restore(pg, repo, dir.resolve("again"), 17, "--backup", full);
        assertThat(ClusterContent.of(again.cluster())).isEqualTo(atFull);
    }

    @Test
    void restoreCommandKilledWhileTheCopyRecovers_saysTheFilesAreIntact_andStartingTheCopyGoesOn() throws Exception {
        // restore_command killed while the copy recovers (kill -9, the out-of-memory killer): the server stops, and the
        // restore said only that it failed to start ("a port in use, a configuration error or a damaged data directory are
        // the usual causes"). The files are intact, and starting the copy goes on with recovery.
        Path repo = dir.resolve("archive-repo");
        LocalCluster source = pg.archiving("archiving-source", repo);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        String full = CliBackups.backupId(repo, source, "full");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);
        Path recovering = dir.resolve("wal-get-killed");
        Map<String, String> env = new HashMap<>(PgSupport.env());
        env.put("PGSTRATA_TEST_HALT_AT", "wal-get"); // the restored server runs restore_command with the restore's environment
        ChildCli.Finished getKilled = ChildCli.run(env, List.of(), 300, "restore", "-q", "--repo", repo.toString(), "--backup", full, "--to",
                recovering.toString(), "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(getKilled.exitCode()).as(getKilled.output()).isEqualTo(19);
        assertThat(getKilled.output()).contains("restore_command (pgstrata wal get) was killed")
                .contains("pgstrata cluster start -D " + recovering);
        LocalCluster resumed = pg.trackRestored(recovering, 17);
        resumed.start(LocalCluster.freePort());
        try (java.sql.Connection c = PgSupport.connect(resumed); java.sql.Statement st = c.createStatement()) {
            for (int i = 0; i < 600; i++) { // recovery ends, then amcheck can install its extension
                try (java.sql.ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        break;
                    }
                }
                Thread.sleep(100);
            }
        }
        assertThat(ClusterContent.of(resumed)).isEqualTo(atFull);
        assertThat(ClusterContent.amcheck(resumed)).isEmpty();
        resumed.stop();

    }
}
