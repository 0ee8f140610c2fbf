package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.RecoveryWindows;
import org.pgstrata.manifest.Repository;

/**
 * status read every archived segment from the oldest backup on, each time it ran, for the newest
 * transaction's time: a monitor that runs it every few minutes read the whole archive each time
 * (0.07 s a segment here, 9 s for 146 segments). It reads backwards from the newest segment and
 * stops at the first that holds a transaction; what it finds is what the whole read finds.
 */
class StatusReadsNewestWalTest extends PgTest {

    @Test
    void statusFindsTheNewestTransactionFromTheEnd_andReadsNoFurther() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "CREATE TABLE t (id int)");
        PgSupport.fullBackup(repo, a);
        List<String> withCommits = new ArrayList<>();
        try (Connection c = PgSupport.connect(a)) {
            for (int i = 0; i < 3; i++) {
                Db.execute(c, "INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
                withCommits.add(Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())"));
                Db.execute(c, "SELECT pg_switch_wal()");
            }
            // Two newest segments without a transaction: a checkpoint's records and a switch, as archive_timeout archives an idle server's
            for (int i = 0; i < 2; i++) {
                Db.execute(c, "CHECKPOINT");
                Db.execute(c, "SELECT pg_switch_wal()");
            }
        }
        PitrTest.waitForArchive(a);

        try (Repository r = Repository.open(repo.toString())) {
            List<RecoveryWindow> all = RecoveryWindows.of(r);
            List<RecoveryWindow> tails = RecoveryWindows.tails(r);
            assertThat(all).hasSize(1);
            assertThat(tails).hasSize(1);
            assertThat(tails.get(0).latestTime()).isNotNull().isEqualTo(all.get(0).latestTime());
            assertThat(tails.get(0).latestLsn()).isEqualTo(all.get(0).latestLsn());
            assertThat(tails.get(0).gaps()).isEqualTo(all.get(0).gaps()).isEmpty();
            assertThat(tails.get(0).backups()).isEqualTo(all.get(0).backups());
        }

        // A damaged segment before the newest transaction is not read: verify finds it, status does not read that far.
        List<Path> victims;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            victims = s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().startsWith(withCommits.get(0))).toList();
        }
        assertThat(victims).hasSize(1);
        ManifestTrustTest.flipAByte(victims.get(0));
        CliRun status = CliRun.run("status", "--repo", repo.toString());
        assertThat(status.exitCode()).as(status.out()).isEqualTo(1); // never drilled: a warning
        assertThat(status.out()).contains("ok: archive-gaps: no gap in the archived WAL").contains("ok: archive-lag: the newest archived point is ");
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out()).isNotZero();
        assertThat(verify.out() + verify.err()).contains(withCommits.get(0));
    }
}
