package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A copy restored to latest, whose directory repository is not there when it recovers (a file
 * system not mounted): restore_command must stop recovery, not answer "end of the archive". With
 * the backup's own WAL in pg_wal the copy reached consistency without the archive, and on exit 1
 * it promoted there, before every later transaction, and started as if all were well. It must
 * fail to start instead, and once the repository is back, recover to the source's last content.
 */
class RepositoryGoneDuringRecoveryTest extends PgTest {

    @Test
    void copyRecoveringToLatest_whoseRepositoryIsNotMounted_stopsInsteadOfPromotingShort() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.track(PgSupport.facade().clusterInit(dir.resolve("src"), LocalCluster.freePort(), 17, null, repo.toString()));
        src.start(null, Map.of());
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 2_000, 1_000, 1, Progress.NONE);
        }
        assertThat(ChildCli.run(Map.of(), List.of(), 300, "backup", "-q", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(),
                "--port", CliBackups.port(src)).exitCode()).isZero();
        String firstAfter;
        ContentChecksum.Result atEnd;
        try (Connection c = PgSupport.connect(src)) {
            firstAfter = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
            Books.mutate(c, 100, 200, 50, 7);
            Db.execute(c, "SELECT pg_switch_wal()");
            Books.mutate(c, 100, 200, 50, 8);
            Db.execute(c, "SELECT pg_switch_wal()");
            atEnd = ContentChecksum.compute(c);
        }
        PitrTest.waitForArchive(src);

        Path copy = dir.resolve("copy");
        ChildCli.Finished restore = ChildCli.run(Map.of(), List.of(), 300, "restore", "--repo", repo.toString(), "--to", copy.toString(),
                "--target", "latest", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        // The backup's own WAL, as a backup that holds it leaves it in pg_wal: consistency needs no archive.
        String label = Files.readString(copy.resolve("backup_label"));
        String start = label.replaceAll("(?s).*START WAL LOCATION: \\S+ \\(file ([0-9A-F]{24})\\).*", "$1");
        for (long seg = Long.parseLong(start.substring(16), 16); seg < Long.parseLong(firstAfter.substring(16), 16); seg++) {
            String name = start.substring(0, 16) + String.format("%08X", seg);
            assertThat(ChildCli.run(Map.of(), List.of(), 120, "wal", "get", "--repo", repo.toString(), name,
                    copy.resolve("pg_wal").resolve(name).toString()).exitCode()).isZero();
        }

        Path away = dir.resolve("repo-unmounted");
        Files.move(repo, away);
        Files.createDirectories(repo); // the empty mount point
        ChildCli.Finished unmounted = ChildCli.run(Map.of(), List.of(), 300, "cluster", "start", "-D", copy.toString());
        LocalCluster restored = pg.trackRestored(copy, 17);
        String seen = "refused to start: " + unmounted.exitCode();
        if (unmounted.exitCode() == 0) {
            try (Connection c = Db.connect(PgSupport.conn(restored))) {
                for (int i = 0; i < 600 && Db.queryString(c, "SELECT pg_is_in_recovery()::text").equals("true"); i++) {
                    Thread.sleep(100);
                }
                seen = "started; in recovery " + Db.queryString(c, "SELECT pg_is_in_recovery()::text") + ", the source's last content "
                        + ContentChecksum.compute(c).equals(atEnd);
            }
            ChildCli.run(Map.of(), List.of(), 300, "cluster", "stop", "-D", copy.toString());
        }
        assertThat(seen).as(unmounted.output()).startsWith("refused to start: ").isNotEqualTo("refused to start: 0");
        assertThat(unmounted.output()).contains("no pgstrata repository at " + repo);

        Files.delete(repo);
        Files.move(away, repo);
        ChildCli.Finished back = ChildCli.run(Map.of(), List.of(), 300, "cluster", "start", "-D", copy.toString());
        assertThat(back.exitCode()).as(back.output()).isZero();
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            for (int i = 0; i < 600 && Db.queryString(c, "SELECT pg_is_in_recovery()::text").equals("true"); i++) {
                Thread.sleep(100);
            }
            assertThat(Db.queryString(c, "SELECT pg_is_in_recovery()::text")).isEqualTo("false");
            assertThat(ContentChecksum.compute(c)).isEqualTo(atEnd);
        }
    }
}
