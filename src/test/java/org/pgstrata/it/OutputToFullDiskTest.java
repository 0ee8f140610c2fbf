package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * {@code pgstrata list --json > backups.json} on a full disk (here /dev/full, where every write
 * fails with "No space left on device") exited 0 with nothing written: PrintStream keeps write
 * errors to itself, so a script went on with an empty file. The command must say in one line that
 * its output was lost, with the I/O error's code (22). A pipe whose reader left early
 * ({@code pgstrata list | head -1}) is no error.
 */
class OutputToFullDiskTest extends PgTest {

    private static Process start(Path repo, ProcessBuilder.Redirect stdout) throws Exception {
        List<String> cmd = new ArrayList<>(org.pgstrata.ChildJava.command());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.pgstrata.cli.Main", "list", "--repo", repo.toString(), "--json"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        return pb.start();
    }

    @Test
    void listToAFullDisk_failsInOneLine_andAPipeClosedEarlyIsFine() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        PgSupport.fullBackup(repo, a);

        Process full = start(repo, ProcessBuilder.Redirect.to(new File("/dev/full")));
        String errors = new String(full.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(full.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(errors.lines().toList()).as(errors).hasSize(1);
        assertThat(errors).startsWith("pgstrata: error: ").contains("standard output").contains("/dev/full");
        assertThat(full.exitValue()).as(errors).isEqualTo(22);

        Process piped = start(repo, ProcessBuilder.Redirect.PIPE);
        piped.getInputStream().close(); // the reader is gone before the first line
        String pipedErrors = new String(piped.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(piped.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(pipedErrors).isEmpty();
        assertThat(piped.exitValue()).isZero();
    }
}
