package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A repository that may only be read: on a file system with no block left, then remounted
 * read-only (a mirror, a snapshot, a backup host's export). The commands that only read work
 * there: verify proves every backup (it wrote a probe into the repository and called the
 * repository unreadable when the probe failed), and a restore recovers through the archive with
 * wal get, proven by content. A wal get into a read-only pg_wal says so, not "free space"; a delta restore onto a
 * read-only directory says it changed nothing.
 */
class ReadOnlyRepositoryTest extends PgTest {

    @Test
    void fullOrReadOnlyRepository_verifiesAndRestores() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir.resolve("repodisk"), 200)) {
            Path repo = disk.path().resolve("repo");
            LocalCluster source = pg.archiving("source", repo);
            PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                    "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g", "CHECKPOINT");
            String full = CliBackups.backupId(repo, source, "full");
            PgSupport.sql(source, "UPDATE t SET v = md5(v) WHERE id % 3 = 0");
            Map<String, ContentChecksum.Result> atEnd = ClusterContent.of(source);
            try (Connection c = PgSupport.connect(source)) {
                Db.execute(c, "SELECT pg_switch_wal()");
            }
            PitrTest.waitForArchive(source);
            String archived = PgSupport.queryString(source, "SELECT last_archived_wal FROM pg_stat_archiver");
            pg.close(); // nothing writes into the repository from here

            disk.leave(0);
            CliRun full0 = CliRun.run("verify", "--repo", repo.toString());
            assertThat(full0.exitCode()).as("verify of a repository with no room left: %s", full0.err()).isZero();
            disk.free();

            disk.readOnly(true);
            try {
                CliRun verify = CliRun.run("verify", "--repo", repo.toString());
                assertThat(verify.exitCode()).as("verify of a read-only repository: %s", verify.err()).isZero();
                assertThat(verify.err()).doesNotContain("not checked");
                CliBackups.ok("list", "--repo", repo.toString());
                CliBackups.ok("info", "--repo", repo.toString());
                CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("restored"), 17, "--backup", full, "--target", "latest");
                assertThat(ClusterContent.proof(r.cluster())).isEqualTo(atEnd);
                pg.close();
            } finally {
                disk.readOnly(false);
            }

            // wal get into a read-only pg_wal: restore_command fails (above 125) in one line, and its hint speaks of the
            // file system, not of free space (it said "free space in" the directory whatever the cause)
            // restore --delta onto a read-only directory: nothing changed, and the error says so (it said "half restored and
            // will not start", of a directory it had not touched)
            try (SmallDisk walDisk = SmallDisk.mount(dir.resolve("waldisk"), 150)) {
                Path copy = walDisk.path().resolve("copy");
                CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--to", copy.toString(), "--backup", full);
                walDisk.readOnly(true);
                CliRun delta = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", copy.toString(), "--delta", "--backup", full);
                assertThat(delta.exitCode()).as(delta.err()).isEqualTo(22);
                assertThat(delta.errLines()).as(delta.err()).singleElement().asString().contains("Read-only file system")
                        .contains("nothing in " + copy + " was changed").doesNotContain("half restored");
                ChildCli.Finished get = ChildCli.run(Map.of(), java.util.List.of(), 120, "wal", "get", "--repo", repo.toString(), archived,
                        walDisk.path().resolve("RECOVERYXLOG").toString());
                assertThat(get.exitCode()).as(get.output()).isEqualTo(128);
                assertThat(get.output().strip().lines()).as(get.output()).singleElement().asString().startsWith("pgstrata: error: ")
                        .contains("Read-only file system").contains("; hint: ").doesNotContain("free space");
            }
        }
    }
}
