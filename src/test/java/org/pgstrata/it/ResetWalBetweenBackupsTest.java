package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * pg_resetwal between backups. A cluster that lost its pg_wal after a crash and was brought back
 * with pg_resetwal -f writes WAL again from just after its last checkpoint, on the same timeline:
 * segment names the archive already holds, with other content. The server's archiver refuses the
 * first of them (the archive keeps its copy) and, archiving in order, never reaches the segments
 * a backup then needs. The backup waited, then said only that its segment "did not reach the
 * archive": the archiver's failure, on a segment before the backup's own, was left out, so
 * nothing pointed at the refused segment. It names it, and says that nothing after it is archived.
 *
 * <p>PostgreSQL 15: Debian's pg_resetwal of 15 (which CI installs with postgresql-15) on the
 * bundled 15's data directory; it refuses root, so as root it runs in a user namespace, as the
 * bundled server does.
 */
class ResetWalBetweenBackupsTest extends PgTest {
    private static final int MAJOR = 15;
    private static final Path PG_RESETWAL = Path.of("/usr/lib/postgresql/" + MAJOR + "/bin/pg_resetwal");

    @Test
    void walLostAndReset_theBackupNamesTheSegmentTheArchiverIsStuckOn() throws Exception {
        // CI installs it (.ci/run: postgresql-15): a machine without it fails here rather than skip the test unseen
        assertThat(PG_RESETWAL).as("pg_resetwal of PostgreSQL " + MAJOR + " (Debian: postgresql-15)").isExecutable();
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("c"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        c.start();
        // The last checkpoint before the crash is the one below, whatever the test's pace.
        PgSupport.sql(c, "ALTER SYSTEM SET checkpoint_timeout = '1d'", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
        String full = CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "CHECKPOINT",
                "UPDATE t SET v = 'lost' WHERE id % 3 = 0", "SELECT pg_switch_wal()",
                "UPDATE t SET v = 'lost too' WHERE id % 5 = 0", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(c);
        c.stopImmediately();
        try (Stream<Path> wal = Files.list(c.pgdata().resolve("pg_wal"))) {
            for (Path p : wal.filter(Files::isRegularFile).toList()) {
                Files.delete(p);
            }
        }
        resetWal(c);
        c.start();
        String first = PgSupport.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        assertThat(repo.resolve("archive").resolve(first.substring(0, 16)).toFile().list())
                .as("the archive holds the reset cluster's first segment %s already", first).anyMatch(n -> n.startsWith(first));
        PgSupport.sql(c, "SELECT pg_switch_wal()");
        awaitArchiverFailure(c);

        CliRun r = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "-p",
                Integer.toString(PgSupport.conn(c).port()), "--archive-timeout", "3");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(25);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("did not reach the archive").contains("the server's archiver fails on " + first)
                .contains("nothing after it reaches the archive").contains("the backup was not kept");
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(full);
    }

    /** pg_resetwal -f of the stopped {@code c}. */
    private static void resetWal(LocalCluster c) {
        List<String> cmd = new ArrayList<>();
        if (PgBinaries.isRoot()) {
            cmd.addAll(List.of("unshare", "-U"));
        }
        cmd.addAll(List.of(PG_RESETWAL.toString(), "-f", c.pgdata().toString()));
        LocalCluster.ProcessResult r = LocalCluster.ProcessResult.run(cmd, 120);
        assertThat(r.exitCode()).as("%s: %s", String.join(" ", cmd), r.output()).isZero();
    }

    /** Waits until the server's archiver has failed at least once (on the segment whose name the archive holds). */
    private static void awaitArchiverFailure(LocalCluster c) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while ("0".equals(PgSupport.queryString(c, "SELECT failed_count::text FROM pg_stat_archiver"))) {
            assertThat(System.nanoTime()).as("the archiver fails within 30 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
