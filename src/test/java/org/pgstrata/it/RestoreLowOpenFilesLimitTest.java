package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A restore under an open-files limit too low for it (ulimit -n, as a unit's LimitNOFILE or a
 * container's sets it) that runs out of descriptors while it writes: it must fail in one line
 * with the I/O error's code (22) and leave nothing in its target. Its clean-up walked the target
 * with Files.walk, which holds a directory open per level and throws what it cannot open
 * unchecked: the restore ended as an internal error (exit 70) and left the half-written target,
 * or said "nothing was left there" over the files it could not remove. Its hint said to check
 * free space; it now names the limit (ulimit -n) and its value.
 */
class RestoreLowOpenFilesLimitTest extends PgTest {

    private record Run(int exitCode, String output) {
    }

    private static Run restore(int openFiles, Path repo, Path to) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + openFiles + " && exec \"$@\"", "bash"));
        cmd.addAll(org.pgstrata.ChildJava.command());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.pgstrata.cli.Main", "restore", "--repo", repo.toString(),
                "--to", to.toString(), "--jobs", "4"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void restoreOutOfDescriptors_failsInOneLine_andLeavesNothing() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.sql(a, "DO $$ BEGIN FOR i IN 1..150 LOOP EXECUTE format('CREATE TABLE t%s (a int PRIMARY KEY)', i); END LOOP; END $$");
        PgSupport.fullBackup(repo, a);

        // The lowest limit under which the restore passes, then the limits just below it, where it runs out midway
        int lo = 16;
        int hi = 1024;
        int n = 0;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            Path to = dir.resolve("probe-" + (++n));
            if (restore(mid, repo, to).exitCode() == 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        int midway = 0;
        for (int limit = lo - 1; limit >= Math.max(16, lo - 12); limit--) {
            Path to = dir.resolve("low-" + limit);
            Run r = restore(limit, repo, to);
            if (r.exitCode() == 0) {
                continue; // the threads' timing let it through this time
            }
            if (r.output().contains("NoClassDefFoundError") || r.output().contains("ExceptionInInitializerError")) {
                continue; // the JVM itself could not open a jar to load a class: below what any command can run with
            }
            List<String> errors = r.output().lines().filter(l -> l.startsWith("pgstrata: ")
                    && (l.contains("error") || l.contains("exception"))).toList();
            assertThat(errors).as(r.output()).hasSize(1);
            assertThat(errors.get(0)).as(r.output()).startsWith("pgstrata: error: ").contains("Too many open files")
                    .contains("hint: the process ran out of file descriptors: raise its open-files limit (ulimit -n, " + limit + " now")
                    .doesNotContain("free space");
            assertThat(r.exitCode()).as(r.output()).isEqualTo(22);
            assertThat(Files.exists(to)).as("nothing left in %s after: %s", to, r.output()).isFalse();
            midway += r.output().contains("restoring") ? 1 : 0;
        }
        assertThat(midway).as("at least one limit ran out while the files were written").isPositive();
    }
}
