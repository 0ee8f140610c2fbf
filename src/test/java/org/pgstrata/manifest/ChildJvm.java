package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A class's main run in a JVM of its own, with the launcher's JIT and collector and the options given (a heap bound). */
final class ChildJvm {
    private ChildJvm() {
    }

    /** Its output (stdout and stderr), once it exited 0 within five minutes. */
    static String run(List<String> jvmOptions, Class<?> main, String... args) throws Exception {
        List<String> cmd = org.pgstrata.ChildJava.command();
        cmd.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
