package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A postgresql.conf that is a symbolic link to a file kept elsewhere (/etc/..., managed by
 * configuration management): a backup stores the file it leads to, and a delta restore puts that
 * back as a plain file in the data directory, as pgBackRest restores file links by default (it
 * writes nothing outside the data directory, and the file there may have changed on purpose
 * since). It did so without a word: the restored server then read the backup's copy, and later
 * edits of the file the link led to had no effect. The restore now says so, naming both.
 */
class DeltaRestoreConfigLinkTest extends PgTest {

    @Test
    void linkedPostgresqlConf_isReplacedByTheBackupsFile_withAWarningNamingTheLink() throws Exception {
        LocalCluster src = pg.start("src", 17);
        src.stop();
        Path etc = Files.createDirectories(dir.resolve("etc/postgresql"));
        Path conf = src.pgdata().resolve("postgresql.conf");
        Path managed = etc.resolve("postgresql.conf");
        Files.move(conf, managed);
        Files.createSymbolicLink(conf, managed);
        src.start();
        PgSupport.sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        byte[] backedUpConf = Files.readAllBytes(managed);
        PgSupport.sql(src, "UPDATE t SET v = 'changed' WHERE id % 2 = 0");
        src.stop();
        Files.writeString(managed, "\n# tuned after the backup\nwork_mem = '8MB'\n", java.nio.file.StandardOpenOption.APPEND);
        byte[] managedBefore = Files.readAllBytes(managed);

        // in a process of its own: warnings go to its stderr
        ChildCli.Finished r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--delta", "--repo", repo.toString(), "--to",
                src.pgdata().toString(), "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        // Nothing written outside the data directory; the data directory holds the backup's file, and says so
        assertThat(Files.readAllBytes(managed)).isEqualTo(managedBefore);
        assertThat(Files.isSymbolicLink(conf)).isFalse();
        assertThat(Files.readAllBytes(conf)).isEqualTo(backedUpConf);
        assertThat(r.output()).contains("warning: " + conf + " was a symbolic link to " + managed)
                .contains("replaced it with the backup's file").contains("ln -sf");
    }
}
