package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java 17 takes the character set of file names and arguments from the locale: under C or POSIX
 * (cron, a container without LANG, the environment of a server's archive_command) it is ASCII, and
 * a path with any other character ("/backups/dépôt") made every command fail as an internal error
 * (exit 70, InvalidPathException). Both launchers now give the JVM a UTF-8 character type; a JVM
 * started without them says what to do, in one line (exit 2). It runs once the jar is built.
 */
@Tag("packaged")
class LauncherLocaleTest {
    @TempDir
    Path dir;

    @Test
    void aPathWithAccents_underTheCLocale_isTheSamePath_throughEitherLauncher() throws Exception {
        Path target = Path.of("target");
        Path checkout = Files.createDirectory(dir.resolve("checkout"));
        LauncherClassSharingTest.checkoutCopy(checkout);
        // The installed one, from the tarball
        String version = System.getProperty("pgstrata.version");
        Path tarball = target.resolve("pgstrata-" + version + ".tar.gz").toAbsolutePath();
        assertThat(tarball).as("built by mvn package").isRegularFile();
        Path unpacked = Files.createDirectory(dir.resolve("dist"));
        assertThat(new ProcessBuilder("tar", "xzf", tarball.toString(), "-C", unpacked.toString()).inheritIO().start().waitFor()).isZero();
        Path dist = unpacked.resolve("pgstrata-" + version + "/bin/pgstrata");

        Path repo = Files.createDirectories(dir.resolve("d\u00e9p\u00f4t \u20ac"));
        for (String locale : new String[] {null, "C", "POSIX"}) {
            for (Path launcher : List.of(checkout.resolve("pgstrata"), dist)) {
                Run r = run(locale, List.of(launcher.toString(), "list", "--repo", repo.toString()));
                assertThat(r.exit()).as("%s under LC_ALL=%s: %s", launcher, locale, r.out()).isEqualTo(17);
                assertThat(r.out()).as("%s", launcher).contains("no pgstrata repository at " + repo + " (repo.json is missing)");
            }
        }
        // A JVM started directly under C: one line that says what to do
        List<String> direct = new ArrayList<>(org.pgstrata.ChildJava.command());
        direct.addAll(List.of("-jar", target.resolve("pgstrata.jar").toString(), "list", "--repo", repo.toString()));
        Run r = run("C", direct);
        assertThat(r.exit()).as(r.out()).isEqualTo(2);
        assertThat(r.out().strip()).contains("cannot be a file name in this locale's character set", "LC_ALL=C.UTF-8").hasLineCount(1);
    }

    private record Run(int exit, String out) {
    }

    /** Runs {@code cmd} with no LANG or LC_* but LC_ALL={@code locale} (none for null). */
    private static Run run(String locale, List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.equals("LANGUAGE") || k.startsWith("LC_"));
        if (locale != null) {
            pb.environment().put("LC_ALL", locale);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }
}
