package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

        Path go = dir.resolve("go");
        Path log = dir.resolve("verify.log");
        Process verify = ChildCli.startLogged(Map.of("PGSTRATA_TEST_PAUSE_AT", "verify-checked", "PGSTRATA_TEST_RESUME_FILE", go.toString()),
                log, "verify", "--repo", repo.toString());
        String newer;
        try {
            ChildCli.awaitInLog(verify, log, "test hook: pausing at verify-checked", 120); // verify has read the manifest of `old`
            newer = CliBackups.backupId(repo, source, "reverse"); // turns `old` into a reverse delta, removes its table's object
            Files.writeString(go, "");
            assertThat(verify.waitFor(120, TimeUnit.SECONDS)).as("verify ends").isTrue();
        } finally {
            ChildCli.kill(verify);
        }
        String out = Files.readString(log);
        assertThat(verify.exitValue()).as(out).isZero();
        assertThat(out).contains("backup " + old + " changed while verify read it").contains("ok: 2 backups")
                .doesNotContain("would not restore").doesNotContain("FAILED");

        // What verify passed restores: the old point, now a reverse delta over the newer full, with its content.
        CliBackups.Restored back = CliBackups.restore(pg, repo, dir.resolve("back"), 17, "--backup", old);
        assertThat(ClusterContent.proof(back.cluster())).isEqualTo(before);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(old, newer);
    }
}
