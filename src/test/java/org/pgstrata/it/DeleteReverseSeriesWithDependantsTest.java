package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * delete --with-dependants of the newest full of a reverse-delta series removes the older reverse
 * deltas first, each collecting only its own directory while the newer backups still read from
 * it; once the newest went too, the objects they read in the older directories stayed. verify
 * then named those directories "incomplete backup (a backup still running, or one that failed)",
 * until the next backup removed them. The same when the newest full had lost its manifest. The
 * removal now collects every directory it touched once the last backup is gone.
 */
class DeleteReverseSeriesWithDependantsTest extends PgTest {

    @Test
    void deletingTheNewestFullWithItsReverseDeltas_leavesNoDirectoryBehind() throws Exception {
        Path repo = dir.resolve("repo");
        CliBackups.ReverseSeries series = CliBackups.reverseSeries(pg, "c", repo);
        LocalCluster c = series.source();
        CliBackups.backupId(repo, c, "reverse");
        PgSupport.sql(c, "UPDATE t SET v = 'y' || v WHERE id % 5 = 0", "CHECKPOINT");
        String newest = CliBackups.backupId(repo, c, "reverse");
        Path copy = dir.resolve("copy");
        copyTree(repo, copy);

        CliBackups.ok("delete", "-q", "--repo", repo.toString(), "--backup", newest, "--with-dependants");
        assertClean(repo);

        // Its manifest lost (the block map kept): removed as a damaged backup, with the same result.
        Files.delete(copy.resolve("backup").resolve(newest).resolve("manifest"));
        CliBackups.ok("delete", "-q", "--repo", copy.toString(), "--backup", newest, "--with-dependants");
        assertClean(copy);
    }

    private static void assertClean(Path repo) throws Exception {
        if (Files.exists(repo.resolve("backup"))) { // an empty backup/ goes with its last directory
            try (var s = Files.list(repo.resolve("backup"))) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).as("backup directories left in %s", repo).isEmpty();
            }
        }
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).doesNotContain("incomplete backup");
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else if (!p.getFileName().toString().equals("lock")) {
                    Files.copy(p, t);
                }
            }
        }
    }
}
