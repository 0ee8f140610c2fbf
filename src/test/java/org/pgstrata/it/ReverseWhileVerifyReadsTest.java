package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Verify takes no lock: a reverse backup may turn a full it checks into a reverse delta after
 * verify read its manifest, and remove the old objects the reverse delta no longer reads. Verify
 * then said "FAILED ... a restore would reject" that backup, told the user to take a new full and
 * exited 15, on a repository where every backup restores (a nightly verify beside a nightly
 * backup). It now sees that the backup changed under it, verifies again what is there, and passes;
 * the backup it checked still restores with its content.
 */
class ReverseWhileVerifyReadsTest extends PgTest {

    @Test
    void fullTurnedIntoReverseDeltaUnderAVerify_isVerifiedAgain_notCalledDamaged() throws Exception {
        Path repo = dir.resolve("repo");
        CliBackups.ReverseSeries series = CliBackups.reverseSeries(pg, "source", repo);
        LocalCluster source = series.source();
        String old = series.first();
        Map<String, ContentChecksum.Result> before = series.atFirst();

        // Once verify has read the manifest of `old`, a reverse backup turns it into a reverse delta and removes its table's object.
        ChildCli.Resumed<String> verify = ChildCli.pausedAt("verify-checked", dir.resolve("verify.log"),
                () -> CliBackups.backupId(repo, source, "reverse"), 120, "verify", "--repo", repo.toString());
        String newer = verify.meanwhile();
        String out = verify.output();
        assertThat(verify.exitCode()).as(out).isZero();
        assertThat(out).contains("backup " + old + " changed while verify read it").contains("ok: 2 backups")
                .doesNotContain("would not restore").doesNotContain("FAILED");

        // What verify passed restores: the old point, now a reverse delta over the newer full, with its content.
        CliBackups.Restored back = CliBackups.restore(pg, repo, dir.resolve("back"), 17, "--backup", old);
        assertThat(ClusterContent.proof(back.cluster())).isEqualTo(before);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(old, newer);
    }
}
