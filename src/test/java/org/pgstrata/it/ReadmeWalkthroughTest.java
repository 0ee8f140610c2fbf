package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Self;
import org.pgstrata.db.LocalCluster;

/**
 * docs/lab.md ("The lab, step by step", linked from README.md), run as a reader runs it: the blocks fenced as
 * {@code ```sh lab}, in order, in one bash process with {@code set -euo pipefail}. Its
 * {@code pgstrata} is the code under test (the same Java and class path as this test, not the
 * launcher, which may start Maven), and its directory and ports come from the environment
 * variables the lab's first block defaults from. Any failing command fails the test, and so
 * does any strategy whose restore does not print {@code proven}.
 */
class ReadmeWalkthroughTest {
    private static final String OPENING_FENCE = "```sh lab";
    /** Full, incremental, differential, reverse delta, point in time, logical full, logical differential. */
    private static final int STRATEGIES = 7;
    private static final String PROOF = "&& echo proven";
    private static final long TIMEOUT_SECONDS = 300;

    @TempDir
    static Path dir;

    @Test
    void readmeLab_runsEveryStrategy_andProvesEachRestore() throws Exception {
        String lab = labBlocks(Files.readString(Path.of("docs/lab.md")));
        assertThat(Files.readString(Path.of("README.md"))).as("the lab's runnable blocks live in docs/lab.md only").doesNotContain(OPENING_FENCE);
        assertThat(lab.split(PROOF, -1).length - 1).as("proof lines in the lab blocks, one per strategy").isEqualTo(STRATEGIES);

        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path pgstrata = bin.resolve("pgstrata");
        Files.writeString(pgstrata, "#!/bin/sh\nexec " + Self.shellCommand() + " \"$@\"\n");
        Files.setPosixFilePermissions(pgstrata, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path labDir = Files.createDirectories(dir.resolve("lab"));
        Path script = dir.resolve("lab.sh");
        Files.writeString(script, prelude() + lab);
        Path log = dir.resolve("lab.log");

        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(PgSupport.env()); // no inherited PG* or PGSTRATA_PG_BIN: the lab names what it uses
        env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("LAB", labDir.toString());
        int port = LocalCluster.freePort();
        int restorePort = LocalCluster.freePort();
        while (restorePort == port) {
            restorePort = LocalCluster.freePort();
        }
        env.put("LAB_PORT", String.valueOf(port));
        env.put("LAB_RESTORE_PORT", String.valueOf(restorePort));
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("the lab did not finish in " + TIMEOUT_SECONDS + " s; its output ends:\n" + tail(log));
        }
        System.out.println(Files.readString(log)); // into surefire's report of this test, with each command's start time

        assertThat(p.exitValue()).as("exit status of the lab; its output ends:\n%s", tail(log)).isZero();
        long proven = Files.readAllLines(log).stream().filter(l -> l.equals("proven")).count();
        assertThat(proven).as("strategies proven by the lab; its output ends:\n%s", tail(log)).isEqualTo(STRATEGIES);
    }

    /** The lab blocks' lines, in the page's order; fails when there are none or one is not closed. */
    static String labBlocks(String readme) {
        StringBuilder out = new StringBuilder();
        boolean inside = false;
        int blocks = 0;
        for (String line : readme.split("\n", -1)) {
            if (!inside && line.strip().equals(OPENING_FENCE)) {
                inside = true;
                blocks++;
            } else if (inside && line.strip().equals("```")) {
                inside = false;
            } else if (inside) {
                out.append(line).append('\n');
            }
        }
        assertThat(inside).as("docs/lab.md's last '%s' block is closed", OPENING_FENCE).isFalse();
        assertThat(blocks).as("'%s' blocks in docs/lab.md", OPENING_FENCE).isPositive();
        return out.toString();
    }

    /**
     * What a reader's shell does not need but a test does: stop at the first failure, show each
     * command with the seconds since start, and stop every server under LAB however the script ends.
     */
    private static String prelude() {
        return """
                set -euo pipefail
                PS4='+ ${SECONDS}s '
                set -x
                stop_lab() {
                  { set +x; } 2>/dev/null
                  for d in "$LAB"/*/; do
                    if [ -f "$d/postmaster.pid" ]; then pgstrata cluster stop -q --pgdata "$d" || true; fi
                  done
                }
                trap stop_lab EXIT
                """;
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    /** Servers the script could not stop (killed at the timeout, say): stopped here, before the directory goes. */
    @AfterAll
    static void stopLeftServers() throws IOException {
        Path labDir = dir.resolve("lab");
        if (!Files.isDirectory(labDir)) {
            return;
        }
        List<Path> left = new ArrayList<>();
        try (Stream<Path> s = Files.list(labDir)) {
            s.filter(d -> Files.isRegularFile(d.resolve("postmaster.pid"))).forEach(left::add);
        }
        try (PgSupport pg = new PgSupport(labDir)) {
            for (Path d : left) {
                pg.trackRestored(d, LocalCluster.majorOf(d));
            }
        }
    }
}
