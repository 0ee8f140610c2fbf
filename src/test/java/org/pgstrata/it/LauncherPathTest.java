package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installed launcher under a PATH without the system's tools (a unit's or a container's own
 * PATH, Java found through JAVA_HOME): it runs readlink, dirname and uname, and died with
 * "readlink: not found" (exit 127) before pgstrata started. The system's directories are its
 * last resort now. It runs once the tarball is built.
 */
@Tag("packaged")
class LauncherPathTest {
    @TempDir
    Path dir;

    @Test
    void installedLauncher_withAPathWithoutUsrBin_runsPgstrata() throws Exception {
        String version = System.getProperty("pgstrata.version");
        Path tarball = Path.of("target").resolve("pgstrata-" + version + ".tar.gz").toAbsolutePath();
        assertThat(tarball).as("built by mvn package").isRegularFile();
        Path unpacked = Files.createDirectory(dir.resolve("dist"));
        assertThat(new ProcessBuilder("tar", "xzf", tarball.toString(), "-C", unpacked.toString()).inheritIO().start().waitFor()).isZero();
        Path launcher = unpacked.resolve("pgstrata-" + version + "/bin/pgstrata");
        Path emptyBin = Files.createDirectory(dir.resolve("empty-bin"));
        Path repo = dir.resolve("no-repo");

        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "list", "--repo", repo.toString()).redirectErrorStream(true);
        pb.environment().put("PATH", emptyBin.toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("no pgstrata repository at " + repo).doesNotContain("not found");
        assertThat(p.exitValue()).as(out).isEqualTo(17);
    }
}
