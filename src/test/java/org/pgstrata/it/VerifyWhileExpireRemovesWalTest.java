package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.pgstrata.api.VerifyResult;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * Verify takes no lock: an expire may remove archived WAL that no kept backup needs after verify
 * listed the archive and before it read those segments (a nightly verify beside a nightly expire,
 * after a delete left the old WAL to expire). Verify then said "cannot read the WAL archive: ...
 * not found", exited 15 (corrupt or missing) and checked no segment after it, on an archive where
 * every kept backup's WAL is whole. A segment gone since the listing was removed, not lost: it is
 * left out, as if it had not been listed.
 */
class VerifyWhileExpireRemovesWalTest extends PgTest {

    @Test
    void walExpiredWhileVerifyReadsTheArchive_isLeftOut_notCalledMissing() throws Exception {
        Path repo = dir.resolve("repo");
        String[] fulls = twoFullsWithWalBetween(repo);
        String first = fulls[0];
        String second = fulls[1];
        CliRun deleted = CliRun.run("delete", "--repo", repo.toString(), "--backup", first, "-q");
        assertThat(deleted.exitCode()).as(deleted.err()).isZero();

        // Once verify has listed the archive, expire removes the WAL from before the kept backup.
        ChildCli.Resumed<CliRun> verify = verifyWhileExpireRuns(repo);
        CliRun expire = verify.meanwhile();
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(expire.out()).contains("WAL segment");
        String out = verify.output();
        assertThat(verify.exitCode()).as(out).isZero();
        assertThat(out).doesNotContain("cannot read the WAL archive").doesNotContain("FAILED");

        VerifyResult again = PgSupport.facade().verify(repo.toString(), null);
        assertThat(again.ok()).as("%s", again).isTrue();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(second);
    }

    /**
     * The same when the expire removes a backup verify has just rebuilt, with its WAL: verify
     * then found an "archive gap" from that backup's start (exit 15, "find why archiving lost
     * those segments"). A backup removed meanwhile is verified again as what is there now.
     */
    @Test
    void backupAndItsWalExpiredWhileVerifyReadsTheArchive_isVerifiedAgain_notCalledAGap() throws Exception {
        Path repo = dir.resolve("repo");
        String[] fulls = twoFullsWithWalBetween(repo);
        String first = fulls[0];
        String second = fulls[1];

        ChildCli.Resumed<CliRun> verify = verifyWhileExpireRuns(repo);
        CliRun expire = verify.meanwhile();
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(expire.out()).contains("removed 1 backup");
        String out = verify.output();
        assertThat(verify.exitCode()).as(out).isZero();
        assertThat(out).contains("backup " + first + " changed while verify read it").doesNotContain("archive gap").doesNotContain("FAILED");
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(second);
    }

    /** Two full backups of an archiving cluster with three switched segments of WAL between them: their ids. */
    private String[] twoFullsWithWalBetween(Path repo) throws Exception {
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        String first = CliBackups.backupId(repo, source, "full");
        for (int i = 0; i < 3; i++) {
            PgSupport.sql(source, "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g", "SELECT pg_switch_wal()");
        }
        return new String[] {first, CliBackups.backupId(repo, source, "full")};
    }

    /** verify, paused once it has listed the archive, while expire --retain-full 1 runs; then let go. */
    private ChildCli.Resumed<CliRun> verifyWhileExpireRuns(Path repo) throws Exception {
        return ChildCli.pausedAt("verify-archive-listed", dir.resolve("verify.log"),
                () -> CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1"), 120, "verify", "--repo", repo.toString());
    }
}
