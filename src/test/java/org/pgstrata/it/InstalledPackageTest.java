package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.manifest.Repository;

/**
 * The distribution 'mvn package' builds: a tarball, and a Debian package that this test really
 * installs (dpkg -i, as root, as CI runs) and removes again. Installed, pgstrata runs from / as a
 * user without a home directory, archives and fetches WAL as that user (zstd's native library
 * loads), and wal setup writes an archive_command that names only /usr/bin/pgstrata.
 */
@Tag("packaged")
class InstalledPackageTest {
    @TempDir
    Path dir;

    @Test
    void debianPackage_installs_runsAsAnyUserFromAnyDirectory_andArchiveCommandNamesOnlyTheInstalledCommand() throws Exception {
        String version = System.getProperty("pgstrata.version");
        assertThat(version).as("the pom passes pgstrata.version").isNotBlank();
        Path deb = Path.of("target", "pgstrata_" + version.replace("-SNAPSHOT", "~SNAPSHOT") + "_all.deb");
        Path tarball = Path.of("target", "pgstrata-" + version + ".tar.gz");
        assertThat(deb).as("built by mvn package").isRegularFile();
        assertThat(tarball).as("built by mvn package").isRegularFile();
        OtherUser.Result listing = OtherUser.exec(List.of("tar", "tzf", tarball.toAbsolutePath().toString()));
        assertThat(listing.output().lines().toList()).contains("pgstrata-" + version + "/bin/pgstrata", "pgstrata-" + version + "/pgstrata.jar",
                "pgstrata-" + version + "/lib/picocli-4.7.7.jar");

        if (!Files.isExecutable(Path.of("/usr/bin/dpkg"))) {
            fail("dpkg is missing: this test installs " + deb + " with dpkg -i (run it on Debian or Ubuntu, as CI does)");
        }
        OtherUser.Result before = OtherUser.exec(List.of("dpkg-query", "-W", "-f", "${Status}", "pgstrata"));
        if (before.exit() == 0 && before.output().contains("installed") && !before.output().contains("not-installed")) {
            fail("a pgstrata package is installed on this machine already (" + before.output().strip() + "); this test installs its own "
                    + "build and removes it afterwards: remove that one first (dpkg -r pgstrata)");
        }
        try (OtherUser user = OtherUser.ensure()) {
            OtherUser.Result install = OtherUser.exec(List.of("dpkg", "-i", deb.toAbsolutePath().toString()));
            try {
                assertThat(install.exit()).as("dpkg -i said: %s", install.output()).isZero();
                assertThat(Files.readSymbolicLink(Path.of("/usr/bin/pgstrata"))).isEqualTo(Path.of("../share/pgstrata/bin/pgstrata"));
                assertThat(Path.of("/usr/share/pgstrata/pgstrata.jar")).isRegularFile();
                Path jsa = Path.of("/var/cache/pgstrata/pgstrata.jsa");
                assertThat(jsa).as("postinst records the class data sharing archive").isRegularFile();
                // A Java installed or updated under /usr/lib/jvm (the package's file trigger) records it again.
                Files.delete(jsa);
                OtherUser.Result trigger = OtherUser.exec(List.of("dpkg-trigger", "--no-await", "/usr/lib/jvm"));
                assertThat(trigger.exit()).as("dpkg-trigger said: %s", trigger.output()).isZero();
                OtherUser.Result triggered = OtherUser.exec(List.of("dpkg", "--triggers-only", "pgstrata"));
                assertThat(triggered.exit()).as("dpkg --triggers-only said: %s", triggered.output()).isZero();
                assertThat(jsa).as("the trigger recorded the archive again").isRegularFile();

                // The command reference as man pages (one per command, made from the --help model), bash completion, the docs.
                Path man = Path.of("/usr/share/man/man1");
                for (String page : List.of("pgstrata.1", "pgstrata-backup.1", "pgstrata-restore.1", "pgstrata-drill.1", "pgstrata-status.1",
                        "pgstrata-wal-push.1", "pgstrata-repo-rotate-pass.1")) {
                    assertThat(man.resolve(page)).as("man page " + page).isRegularFile();
                }
                String backupPage = Files.readString(man.resolve("pgstrata-backup.1"));
                assertThat(backupPage).contains(".TH \"PGSTRATA\\-BACKUP\" \"1\"").contains("type").contains("SYNOPSIS");
                assertThat(Path.of("/usr/share/bash-completion/completions/pgstrata")).content().contains("_complete_pgstrata");
                assertThat(Path.of("/usr/share/doc/pgstrata/docs/README.md")).isRegularFile();

                // From /, as a user with no home, with only the system PATH.
                OtherUser.Result v = user.run(Path.of("/"), "pgstrata", "--version");
                assertThat(v.exit()).as(v.output()).isZero();
                assertThat(v.output().strip()).isEqualTo("pgstrata " + version);

                // A repository the user owns (made here, as root would for a cluster, then given away).
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
                Path repo = dir.resolve("repo with 'quote'");
                try (Repository r = Repository.open(repo.toString())) {
                    r.initialize("7000000000000000001", 15, Clock.systemUTC());
                }
                Path wal = dir.resolve("pg_wal");
                Files.createDirectories(wal);
                byte[] history = "1\t0/3000000\tno recovery target specified\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                Files.write(wal.resolve("00000002.history"), history);
                user.own(dir);

                OtherUser.Result push = user.run(Path.of("/"), "pgstrata", "wal", "push", "--repo", repo.toString(),
                        wal.resolve("00000002.history").toString());
                assertThat(push.exit()).as(push.output()).isZero();
                OtherUser.Result get = user.run(Path.of("/"), "pgstrata", "wal", "get", "--repo", repo.toString(), "00000002.history",
                        dir.resolve("fetched").toString());
                assertThat(get.exit()).as(get.output()).isZero();
                assertThat(Files.readAllBytes(dir.resolve("fetched"))).isEqualTo(history);

                // What wal setup writes for PostgreSQL: the installed command, quoted, and nothing of a JVM or a checkout.
                OtherUser.Result setup = user.run(Path.of("/"), "pgstrata", "wal", "setup", "--repo", repo.toString(), "--pgdata", dir.toString());
                assertThat(setup.exit()).as(setup.output()).isZero();
                String archiveCommand = setup.output().lines().filter(l -> l.startsWith("archive_command = ")).findFirst().orElseThrow();
                String quotedRepo = "'" + repo.toString().replace("'", "'\\''") + "'";
                String inConf = quotedRepo.replace("\\", "\\\\").replace("'", "''"); // as postgresql.conf reads it (ConfValue)
                assertThat(archiveCommand).endsWith("; else /usr/bin/pgstrata wal push --repo " + inConf + " %p; fi'")
                        .doesNotContain("java", "-cp", ".jar", "/work", "/root", ".cache", "-XX");
                // The spool check names the repository three times more; the rest is short.
                assertThat(archiveCommand.length() - 4 * inConf.length()).as(archiveCommand).isLessThan(200);
            } finally {
                OtherUser.Result remove = OtherUser.exec(List.of("dpkg", "--purge", "pgstrata"));
                assertThat(remove.exit()).as("dpkg --purge said: %s", remove.output()).isZero();
                assertThat(Path.of("/usr/bin/pgstrata")).doesNotExist();
                assertThat(Path.of("/usr/share/pgstrata")).doesNotExist();
                assertThat(Path.of("/usr/share/man/man1/pgstrata-backup.1")).doesNotExist();
                assertThat(Path.of("/var/cache/pgstrata")).doesNotExist();
            }
        }
    }
}
