package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's class data sharing archive records every jar on the class path. 'mvn package'
 * writes target/lib's crypto jars again (stripped of their signatures) even when pgstrata.jar
 * stays as it was; the launcher only compared the archive with pgstrata.jar, so the JVM then
 * ignored the archive without a word and every command started about 0.15 s later (0.5 s on S3:
 * seen as a 20 to 35% slower backup and restore in bench/s3.sh). A jar of target/lib newer than
 * the archive now makes the launcher record it again. It runs once the jar is built (packaged).
 */
@Tag("packaged")
class LauncherClassSharingTest {
    @TempDir
    Path dir;

    @Test
    void aLibraryJarNewerThanTheArchive_makesTheLauncherRecordItAgain() throws Exception {
        checkoutCopy(dir);
        Path lib = dir.resolve("target/lib");
        Path jsa = dir.resolve("target/pgstrata.jsa");

        assertThat(run()).doesNotContain("Unable to map shared spaces");
        assertThat(jsa).as("the launcher records the archive").isRegularFile();
        FileTime recorded = Files.getLastModifiedTime(jsa);

        // What 'mvn package' does to the crypto jars when nothing else changed
        Path rewritten;
        try (Stream<Path> libs = Files.list(lib)) {
            rewritten = libs.filter(p -> p.getFileName().toString().startsWith("bcprov-")).findFirst().orElseThrow();
        }
        Files.setLastModifiedTime(rewritten, FileTime.fromMillis(recorded.toMillis() + 10_000));

        String second = run();
        assertThat(Files.getLastModifiedTime(jsa)).as("the archive, recorded again").isGreaterThan(recorded);
        assertThat(second).as("the JVM maps the archive").doesNotContain("Unable to map shared spaces")
                .doesNotContain("is not the one used while building the shared archive");
    }

    /**
     * The checkout's launcher and build, copied into {@code into} as a checkout holds them, without
     * the sources (so that the launcher builds nothing); run after 'mvn package'.
     */
    static void checkoutCopy(Path into) throws java.io.IOException {
        Path target = Path.of("target");
        assertThat(target.resolve("pgstrata.jar")).as("run after 'mvn package'").isRegularFile();
        Files.copy(Path.of("pgstrata"), into.resolve("pgstrata"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Path lib = Files.createDirectories(into.resolve("target/lib"));
        Files.copy(target.resolve("pgstrata.jar"), into.resolve("target/pgstrata.jar"));
        try (Stream<Path> libs = Files.list(target.resolve("lib"))) {
            for (Path jar : libs.toList()) {
                Files.copy(jar, lib.resolve(jar.getFileName()));
            }
        }
    }

    /** {@code pgstrata --version} through the copied launcher, with the JVM's class data sharing log; returns its output. */
    private String run() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(List.of(dir.resolve("pgstrata").toString(), "--version")).redirectErrorStream(true);
        pb.environment().put("PGSTRATA_JAVA_OPTS", "-Xlog:cds=info");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
