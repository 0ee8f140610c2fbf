package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare stopped by SIGTERM (or Ctrl-C) while a restore of its has started the restored copy:
 * its shutdown hook stopped only the servers in its list (a copy joins the list once its restore
 * returns; the list was a plain ArrayList, and the hook died of a ConcurrentModificationException
 * when the run's thread added to it meanwhile) and removed the work directory under the copy's
 * feet, postmaster.pid and the run's lock included. The copy's server ran on, with nothing left
 * to say whose it was, and no later compare could find it. The help says "Everything it starts is
 * removed at the end, also on Ctrl-C". The moment is a race, so the test tries a few times.
 */
class CompareInterruptedTest {
    @TempDir
    Path dir;

    @Test
    void aCompareInterruptedWhileARestoredCopyRuns_leavesNoServerRunning() throws Exception {
        for (int attempt = 1; attempt <= 4; attempt++) {
            Path work = dir.resolve("work-" + attempt);
            Path log = dir.resolve("compare-" + attempt + ".log");
            Process compare = ChildCli.startLogged(Map.of(), log, "compare", "--rows", "20000", "--cycles", "1", "--strategies", "full",
                    "--work-dir", work.toString());
            try {
                // The copy of the latest point: its server accepts connections while the restore makes sure of its recovery.
                Path pid = work.resolve("restore-repo-full-latest").resolve("postmaster.pid");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
                while (compare.isAlive() && System.nanoTime() < deadline && !ready(pid)) {
                    Thread.sleep(2);
                }
                assertThat(ready(pid)).as("a restored copy's server started; compare said: %s", Files.readString(log)).isTrue();
                compare.destroy(); // SIGTERM
                assertThat(compare.waitFor(120, TimeUnit.SECONDS)).isTrue();
                Thread.sleep(1000);
                assertThat(serversIn(work)).as("attempt %d: servers left running in %s after SIGTERM (exit %d); compare said: %s", attempt, work,
                        compare.exitValue(), Files.readString(log)).isEmpty();
                assertThat(compare.exitValue()).isEqualTo(143);
                assertThat(work).doesNotExist();
            } finally {
                compare.destroyForcibly();
                for (ProcessHandle p : serversIn(work)) {
                    p.destroyForcibly(); // what the run left: ours to stop
                }
            }
        }
    }

    /** Whether the server's postmaster.pid says it accepts connections ("ready", its status line). */
    private static boolean ready(Path pid) {
        try {
            return Files.readString(pid).contains("ready");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Postgres processes working in a directory under {@code work} (their current directory is their data directory). */
    private static List<ProcessHandle> serversIn(Path work) {
        String under = work.toAbsolutePath().normalize().toString() + "/";
        return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false)).filter(p -> {
            try {
                // A directory removed under the server reads "PATH (deleted)"
                return Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).toString().startsWith(under);
            } catch (Exception e) {
                return false; // gone meanwhile
            }
        }).toList();
    }
}
