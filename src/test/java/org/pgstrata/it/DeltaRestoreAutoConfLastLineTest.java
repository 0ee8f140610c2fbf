package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A postgresql.auto.conf whose last line has no line break (edited by hand, or written by a
 * template that drops the final newline; PostgreSQL reads it). A restore into a new directory
 * starts its own lines on a line of their own, but a delta restore in place appended its first
 * line to the file's last: with --port, "work_mem = '8MB'port = 5433" was a syntax error, the
 * server did not start, and the error blamed the source's settings.
 */
class DeltaRestoreAutoConfLastLineTest extends PgTest {

    @Test
    void aDeltaRestoreWithPort_ofAnAutoConfWithoutFinalNewline_starts() throws Exception {
        LocalCluster src = pg.start("src", 17);
        src.stop();
        Files.writeString(src.pgdata().resolve("postgresql.auto.conf"), "work_mem = '8MB'", StandardOpenOption.APPEND);
        src.start();
        PgSupport.sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        PgSupport.sql(src, "UPDATE t SET v = 'changed' WHERE id % 2 = 0");
        src.stop();

        int port = LocalCluster.freePort();
        ChildCli.Finished r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--delta", "--repo", repo.toString(), "--to",
                src.pgdata().toString(), "--start", "--port", Integer.toString(port), "--start-timeout", "60");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        assertThat(PgSupport.queryString(src, "SHOW work_mem")).isEqualTo("8MB");
        assertThat(PgSupport.queryString(src, "SHOW port")).isEqualTo(Integer.toString(port));
    }
}
