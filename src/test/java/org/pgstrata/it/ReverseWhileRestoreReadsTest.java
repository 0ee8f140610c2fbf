package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A restore takes no lock: a reverse backup may turn the full it restores into a reverse delta
 * after the restore checked the chain, and remove the old objects that the reverse delta no longer
 * reads. The restore then said the backup "is damaged" (exit 15) and sent the user to verify,
 * which finds a sound repository. It says instead that the backup was turned into a reverse delta
 * while it read it (exit 14, another command's work), leaves nothing, and the same restore run
 * again restores the backup with its content.
 */
class ReverseWhileRestoreReadsTest extends PgTest {

    @Test
    void fullTurnedIntoReverseDeltaUnderARestore_isSaidSo_andTheRestoreRunAgainRestoresIt() throws Exception {
        Path repo = dir.resolve("repo");
        CliBackups.ReverseSeries series = CliBackups.reverseSeries(pg, "source", repo);
        LocalCluster source = series.source();
        String old = series.first();
        Map<String, ContentChecksum.Result> before = series.atFirst();

        Path copy = dir.resolve("copy");
        // Once the restore has checked its chain, a reverse backup turns `old` into a reverse delta and removes its table's object.
        ChildCli.Resumed<String> restore = ChildCli.pausedAt("restore-checked", dir.resolve("restore.log"),
                () -> CliBackups.backupId(repo, source, "reverse"), 120, "restore", "--repo", repo.toString(), "--backup", old, "--to", copy.toString());
        String newer = restore.meanwhile();
        String out = restore.output();
        assertThat(restore.exitCode()).as(out).isEqualTo(14);
        assertThat(out).contains("backup " + old + " was turned into a reverse delta over " + newer + " (by a reverse backup) while the restore read it")
                .doesNotContain("damaged");
        assertThat(!Files.exists(copy) || isEmpty(copy)).as("nothing left in %s", copy).isTrue();

        // The repository is sound, and the same restore run again restores the backup with its content.
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).as("%s", v).isTrue();
        Files.deleteIfExists(copy);
        CliBackups.Restored again = CliBackups.restore(pg, repo, copy, 17, "--backup", old);
        assertThat(ClusterContent.proof(again.cluster())).isEqualTo(before);
    }

    private static boolean isEmpty(Path p) throws java.io.IOException {
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
