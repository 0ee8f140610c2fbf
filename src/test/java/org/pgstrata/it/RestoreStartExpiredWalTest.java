package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * {@code restore --start} plans while the older full and its WAL are still there; expire removes
 * them before the restored server asks for that WAL. wal get stops recovery (exit 128, see
 * {@link ExpireDuringRecoveryTest}); the restore must then say so with its own exit code (35,
 * WAL removed by expire) in one line that names the backup still restorable, not report a server
 * that failed to start (19), and the copy must not have come up.
 */
class RestoreStartExpiredWalTest extends PgTest {

    @Test
    void expireBetweenThePlanAndTheStart_restoreStartExits35_copyNeverPromoted() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        String f1 = CliBackups.backupId(repo, src, "full");
        for (int seed = 1; seed <= 2; seed++) {
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 100, 200, 50, seed);
                Db.execute(c, "SELECT pg_switch_wal()");
            }
        }
        String f2 = CliBackups.backupId(repo, src, "full");
        PitrTest.waitForArchive(src);

        Path copy = dir.resolve("copy");
        // Once the restore reaches its start, expire removes f1 and the WAL only it needed.
        ChildCli.Resumed<Void> restore = ChildCli.pausedAt("restore-start", dir.resolve("restore.log"), () -> {
            CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
            assertThat(expire.exitCode()).as(expire.err()).isZero();
            assertThat(expire.out()).contains("removed " + f1);
            return null;
        }, 180, "restore", "--repo", repo.toString(), "--backup", f1, "--target", "latest", "--to", copy.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort()));

        String out = restore.output();
        assertThat(restore.exitCode()).as(out).isEqualTo(35);
        List<String> errors = out.lines().filter(l -> l.startsWith("pgstrata: error: ")).toList();
        assertThat(errors).as(out).singleElement().asString()
                .contains("the restored server in " + copy + " stopped recovery")
                .contains("was removed by expire")
                .contains("; hint: restore backup " + f2 + " or a newer one");
        assertThat(Files.readString(copy.resolve(LocalCluster.LOG_FILE))).contains("exit code 128")
                .doesNotContain("selected new timeline ID").doesNotContain("archive recovery complete");
        assertThat(copy.resolve("pg_wal/00000002.history")).doesNotExist();
    }
}
