package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Server;

/**
 * {@code restore --start} whose restored server cannot reach the S3 repository through
 * restore_command (the endpoint went down after the restore had planned): the restore ends with
 * one line that says restore_command failed and quotes why, with the exit code of an I/O error
 * (22), and its hint names the way on from where recovery stopped (not "a port in use, a
 * configuration error or a damaged data directory", the start's generic causes). Once S3 is back,
 * that way, {@code cluster start} of the copy, finishes recovery with the source's content.
 */
class RestoreStartArchiveUnreachableTest extends PgTest {

    @Test
    void restoreCommandCannotReachS3_theRestoreSaysSo_andCopyGoesOnOnceItIsBack() throws Exception {
        try (S3Server s3 = S3Server.onDisk(dir.resolve("s3"))) {
            String repo = s3.location("pgstrata-it", "main");
            LocalCluster src = pg.track(PgSupport.facade().clusterInit(dir.resolve("src"), LocalCluster.freePort(), 17, null, repo));
            src.start(null, S3Server.environment());
            try (Connection c = PgSupport.connect(src)) {
                Books.init(c);
                Books.populate(c, 2_000, 1_000, 1, Progress.NONE);
            }
            assertThat(ChildCli.run(S3Server.environment(), List.of(), 300, args(repo, "backup", "-q", "--pgdata", src.pgdata().toString(),
                    "--port", CliBackups.port(src))).exitCode()).isZero();
            ContentChecksum.Result atEnd;
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 100, 200, 50, 7);
                Db.execute(c, "SELECT pg_switch_wal()");
                Books.mutate(c, 100, 200, 50, 8);
                Db.execute(c, "SELECT pg_switch_wal()");
                atEnd = ContentChecksum.compute(c);
            }
            PitrTest.waitForArchive(src);

            Path copy = dir.resolve("copy");
            ChildCli.Resumed<Void> restore = ChildCli.pausedAt(S3Server.environment(), "restore-start", dir.resolve("restore.log"), () -> {
                s3.stop();
                return null;
            }, 300, args(repo, "restore", "--to", copy.toString(), "--target", "latest", "--start", "--port", Integer.toString(LocalCluster.freePort())));

            String out = restore.output();
            List<String> errors = out.lines().filter(l -> l.startsWith("pgstrata: error: ")).toList();
            assertThat(errors).as(out).singleElement().asString()
                    .contains("the restored server in " + copy + " stopped recovery: restore_command (pgstrata wal get) failed: ")
                    .contains("127.0.0.1")
                    .contains("'pgstrata cluster start -D " + copy + "'")
                    .doesNotContain("a port in use");
            assertThat(restore.exitCode()).as(out).isEqualTo(22);

            s3.start();
            ChildCli.Finished start = ChildCli.run(S3Server.environment(), List.of(), 300, "cluster", "start", "-D", copy.toString());
            assertThat(start.exitCode()).as(start.output()).isZero();
            LocalCluster restored = pg.trackRestored(copy, 17);
            try (Connection c = Db.connect(PgSupport.conn(restored))) {
                // cluster start returns once the copy accepts connections, in recovery still; it promotes at the archive's end
                for (int i = 0; i < 600 && Db.queryString(c, "SELECT pg_is_in_recovery()::text").equals("true"); i++) {
                    Thread.sleep(100);
                }
                assertThat(Db.queryString(c, "SELECT pg_is_in_recovery()::text")).isEqualTo("false");
                assertThat(ContentChecksum.compute(c)).isEqualTo(atEnd);
            }
        }
    }

    private static String[] args(String location, String... rest) {
        List<String> a = new ArrayList<>(List.of(rest));
        a.addAll(1, S3Location.parse(location).arguments());
        return a.toArray(String[]::new);
    }
}
