package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;

/**
 * cluster init made log/ with the process's umask (0755 under 022) inside its 0700 data
 * directory, where the server writes its log (PostgreSQL's own log_file_mode is 0600); and when
 * it failed (initdb refused), it left the directories it had made behind, and an empty directory
 * it was given with the mode it had changed. Now log/ is 0700, and a failed init takes away what
 * it made, never what was there before.
 */
class ClusterInitTidyTest {
    @TempDir
    Path dir;

    /** The real binaries, but an initdb that fails as a broken or refused one does. */
    private Path failingInitdb() throws Exception {
        Path real = org.pgstrata.db.PgBinaries.resolve(null, null, PgSupport.env()).binDir();
        Path bin = Files.createDirectories(dir.resolve("bin"));
        try (Stream<Path> s = Files.list(real)) {
            for (Path p : s.toList()) {
                Files.createSymbolicLink(bin.resolve(p.getFileName()), p);
            }
        }
        Files.delete(bin.resolve("initdb"));
        Files.writeString(bin.resolve("initdb"), "#!/bin/sh\necho 'initdb: error: refused for this test' >&2\nexit 1\n");
        Files.setPosixFilePermissions(bin.resolve("initdb"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    @Test
    void init_makesLogOwnerOnly() throws Exception {
        Path c = dir.resolve("c");
        CliRun r = CliRun.run("cluster", "init", "-q", "-D", c.toString(), "--port", "60011");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(c.resolve("log")))).isEqualTo("rwx------");
    }

    @Test
    void failedInit_removesTheDirectoriesItMade_andLeavesAGivenEmptyDirectoryAsItWas() throws Exception {
        Path bin = failingInitdb();
        Path made = dir.resolve("new");
        CliRun r = CliRun.run("cluster", "init", "-q", "-D", made.resolve("a/c").toString(), "--port", "60012", "--pg-bin", bin.toString());
        assertThat(r.exitCode()).as(r.err()).isNotZero();
        assertThat(r.err()).contains("refused for this test");
        assertThat(made).as(r.err()).doesNotExist();

        Path given = Files.createDirectories(dir.resolve("given"));
        Files.setPosixFilePermissions(given, PosixFilePermissions.fromString("rwxr-x---"));
        r = CliRun.run("cluster", "init", "-q", "-D", given.toString(), "--port", "60013", "--pg-bin", bin.toString());
        assertThat(r.exitCode()).as(r.err()).isNotZero();
        assertThat(given).isEmptyDirectory();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(given))).isEqualTo("rwxr-x---");
    }
}
