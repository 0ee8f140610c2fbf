package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A reverse delta's old pages lie in the directory of the newer full it lies over
 * (backup/NEWER/reverse/). Deleting the reverse delta removed its manifest and its own directory
 * only: its old pages stayed, read by no backup, taking room that delete said it freed, until a
 * later reverse backup removed them with the warning that "an interrupted earlier run" left them.
 * delete now removes them too (only what no remaining backup reads), and the newer full restores
 * with its content. Deleting it a second time, when its directory holds only objects the newer
 * full reads, says it does not exist (exit 17) instead of removing "what an interrupted run left".
 */
class DeleteReverseDeltaOldPagesTest extends PgTest {

    @Test
    void deletingAReverseDelta_removesItsOldPages_fromTheNewerFullsDirectory() throws Exception {
        Path repo = dir.resolve("repo");
        CliBackups.ReverseSeries series = CliBackups.reverseSeries(pg, "c", repo);
        LocalCluster c = series.source();
        String old = series.first();
        String newer = CliBackups.backupId(repo, c, "reverse"); // `old` becomes a reverse delta: its old pages go to newer/reverse/
        Map<String, ContentChecksum.Result> atNewer = ClusterContent.of(c);
        Path oldPages = repo.resolve("backup").resolve(newer).resolve("reverse");
        assertThat(filesIn(oldPages)).as("the reverse delta's old pages").isPositive();

        CliBackups.ok("delete", "-q", "--repo", repo.toString(), "--backup", old);
        assertThat(filesIn(oldPages)).as("old pages of the deleted reverse delta left in %s", oldPages).isZero();
        // Its directory stays, holding the objects the newer full reads in their place: deleting it again said "removing what
        // an interrupted earlier run left" and "removed 1 backup(s)", exit 0, for a backup that no longer exists.
        assertThat(repo.resolve("backup").resolve(old)).isDirectory();
        CliRun again = CliRun.run("delete", "-q", "--repo", repo.toString(), "--backup", old);
        assertThat(again.exitCode()).as(again.out() + again.err()).isEqualTo(17);
        assertThat(again.errLines()).singleElement().asString().contains("backup " + old + " does not exist");
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(newer);
        CliRun verify = CliRun.run("verify", "-q", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.err()).isZero();
        CliBackups.Restored back = CliBackups.restore(pg, repo, dir.resolve("back"), 17, "--backup", newer);
        assertThat(ClusterContent.proof(back.cluster())).isEqualTo(atNewer);

        // Nothing is left for the next reverse backup to find.
        CliRun next = CliRun.run("backup", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port", CliBackups.port(c),
                "--type", "reverse");
        assertThat(next.exitCode()).as(next.err()).isZero();
        assertThat(next.err()).doesNotContain("interrupted earlier run");
    }

    private static long filesIn(Path d) throws java.io.IOException {
        if (!Files.isDirectory(d)) {
            return 0;
        }
        try (var s = Files.walk(d)) {
            return s.filter(Files::isRegularFile).count();
        }
    }
}
