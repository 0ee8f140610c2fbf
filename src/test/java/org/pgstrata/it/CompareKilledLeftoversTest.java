package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.PostmasterPid;

/**
 * A compare killed with SIGKILL runs no clean-up: its source server kept running in a temporary
 * directory, holding its port and shared memory, and nothing ever stopped it. The next compare
 * now stops it and removes the directory, and says so.
 */
class CompareKilledLeftoversTest extends PgTest {

    @Test
    void aKilledCompare_leavesNoServer_afterTheNextOne() throws Exception {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        List<String> jvm = List.of("-Djava.io.tmpdir=" + tmp);
        Process killed = ChildCli.start(Map.of(), jvm, "compare", "--rows", "2000", "--strategies", "full");
        PostmasterPid server;
        Path work;
        try {
            long deadline = System.nanoTime() + 120_000_000_000L;
            Optional<PostmasterPid> running = Optional.empty();
            Path found = null;
            while (running.isEmpty() && System.nanoTime() < deadline && killed.isAlive()) {
                Thread.sleep(200);
                try (Stream<Path> s = Files.list(tmp)) {
                    found = s.filter(p -> p.getFileName().toString().startsWith("pgstrata-compare-")).findFirst().orElse(null);
                }
                running = found == null ? Optional.empty() : PostmasterPid.ofRunning(found.resolve("source"));
            }
            assertThat(running).as("the compare's source server started").isPresent();
            server = running.get();
            work = found;
        } finally {
            ChildCli.kill(killed); // SIGKILL: no shutdown hook, no clean-up
        }
        assertThat(ProcessHandle.of(server.pid()).map(ProcessHandle::isAlive)).as("the killed compare's server runs on").contains(true);

        ChildCli.Finished next = ChildCli.run(Map.of(), jvm, 300, "compare", "--rows", "1000", "--strategies", "full");
        assertThat(next.exitCode()).as(next.output()).isZero();
        assertThat(next.output()).contains("removed " + work).contains("stopped its 1 server(s), left by a compare that was killed");
        assertThat(ProcessHandle.of(server.pid()).map(ProcessHandle::isAlive).orElse(false)).as("the leftover server is stopped").isFalse();
        assertThat(work).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).as("nothing left in the temporary directory").isEmpty();
        }
    }
}
