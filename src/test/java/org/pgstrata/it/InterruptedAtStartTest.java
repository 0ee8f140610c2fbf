package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM (or Ctrl-C) that arrives while the JVM starts, before the command registered the hook
 * that says it was interrupted: registering it threw "IllegalStateException: Shutdown in
 * progress" out of main, a stack trace instead of one line (seen once in about 100 wal push runs
 * stopped in their first third of a second). It now says in one line that it was interrupted.
 */
class InterruptedAtStartTest {
    @TempDir
    Path dir;

    @Test
    void sigtermAsTheJvmStarts_saysItWasInterrupted_inOneLine_noStackTrace() throws Exception {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().putValue("Premain-Class", SigtermAtStartAgent.class.getName());
        Path agent = dir.resolve("agent.jar");
        try (OutputStream out = Files.newOutputStream(agent); JarOutputStream jar = new JarOutputStream(out, mf)) {
            // the manifest alone: the agent's class is on the class path
        }
        Path segment = Files.write(dir.resolve("000000010000000000000001"), new byte[8192]);
        ChildCli.Finished r = ChildCli.run(Map.of(), List.of("-javaagent:" + agent), 60,
                "wal", "push", "--repo", dir.resolve("repo").toString(), segment.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(143);
        assertThat(r.output()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.output().lines().filter(l -> !l.isBlank()).toList()).as(r.output()).hasSize(1)
                .allMatch(l -> l.startsWith("pgstrata: error: interrupted (Ctrl-C or SIGTERM)"));
    }
}
