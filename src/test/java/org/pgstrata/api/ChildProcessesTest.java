package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Children started with a parent-death signal live as long as the JVM, not as long as the thread that asked for them. */
class ChildProcessesTest {

    @Test
    void childStartedByAThreadThatEnds_runsOn() throws Exception {
        AtomicReference<Process> child = new AtomicReference<>();
        Thread asker = new Thread(() -> {
            try {
                child.set(ChildProcesses.start(new ProcessBuilder(Path.of("/bin/sleep").toString(), "30")));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        asker.start();
        asker.join();
        try {
            assertThat(child.get().waitFor(1, TimeUnit.SECONDS)).as("the child ended with the thread that started it").isFalse();
        } finally {
            child.get().destroyForcibly().waitFor();
        }
    }

    @Test
    void missingProgram_stillFailsToStart() {
        ProcessBuilder pb = new ProcessBuilder("/nonexistent/pg_dump", "--version");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ChildProcesses.start(pb)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("/nonexistent/pg_dump");
    }

    @Test
    void wrappedWithSetprivWhereThereIsOne_keepingEnvironmentAndRedirects() {
        ProcessBuilder pb = new ProcessBuilder("/bin/sleep", "1").redirectErrorStream(true);
        pb.environment().put("PGSTRATA_PROBE", "x y");
        ProcessBuilder wrapped = ChildProcesses.killedWithParent(pb);
        if (Files.isExecutable(Path.of("/usr/bin/setpriv")) || Files.isExecutable(Path.of("/bin/setpriv"))) {
            assertThat(wrapped.command()).endsWith("--pdeathsig", "KILL", "--", "/bin/sleep", "1");
        }
        assertThat(wrapped.environment()).containsEntry("PGSTRATA_PROBE", "x y");
        assertThat(wrapped.redirectErrorStream()).isTrue();
        assertThat(pb.command()).containsExactly("/bin/sleep", "1");
    }
}
