package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.wal.WalSetup;

/**
 * A server that archives with archive_library (basic_archive here): PostgreSQL 16 and later
 * refuse to archive at all once archive_command is set beside it ("both archive_command and
 * archive_library set"), 15 ignores the command. wal setup --apply must not write it there (the
 * server's own archiving would stop while wal setup says all is applied), and check must name
 * archive_library instead of passing archive_command and then timing out on the switch.
 */
class WalSetupArchiveLibraryTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster c;
    static Path libraryArchive;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        libraryArchive = Files.createDirectory(dir.resolve("basic-archive"));
        Files.setPosixFilePermissions(libraryArchive, PosixFilePermissions.fromString("rwxrwxrwx"));
        PgBinaries bin = PgBinaries.resolve(null, 17, PgSupport.env());
        c = pg.track(LocalCluster.init(dir.resolve("lib"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(),
                "archive_mode = on\narchive_library = 'basic_archive'\nbasic_archive.archive_directory = '" + libraryArchive + "'\n", true)));
        c.start();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void apply_isRefusedAndTheLibraryKeepsArchiving() throws Exception {
        CliRun run = CliRun.run("wal", "setup", "--apply", "--repo", dir.resolve("repo-apply").toString(), "--pgdata", c.pgdata().toString(),
                "--host", "127.0.0.1", "--port", CliBackups.port(c));
        assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(20);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.errLines().get(0)).startsWith("pgstrata: error: archive_library is set to 'basic_archive' (in ")
                .contains("postgresql.conf line ").contains("nothing was changed; hint: ");
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).isEmpty();
        assertThat(dir.resolve("repo-apply")).doesNotExist();
        // The server still archives with its library: a switched segment arrives in its directory.
        PgSupport.sql(c, "SELECT pg_create_restore_point('x')");
        String segment = PgSupport.queryString(c, "SELECT pg_walfile_name(pg_switch_wal())");
        long until = System.nanoTime() + 30_000_000_000L;
        while (!Files.exists(libraryArchive.resolve(segment)) && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        assertThat(libraryArchive.resolve(segment)).as(c.serverLogTail()).exists();
    }

    @Test
    void check_namesArchiveLibrary_insteadOfTimingOut() throws Exception {
        Path repo = dir.resolve("repo-check");
        CliBackups.ok("repo", "init", "--repo", repo.toString(), "--pgdata", c.pgdata().toString());
        String command = WalSetup.settings(repo.toString()).get("archive_command");
        PgSupport.sql(c, "ALTER SYSTEM SET archive_command = '" + command.replace("'", "''") + "'", "SELECT pg_reload_conf()");
        try {
            PgSupport.awaitSetting(c, "archive_command", command, 30); // the reload returns before the server rereads its files
            long t0 = System.nanoTime();
            CliRun r = CliRun.run("check", "-q", "--repo", repo.toString(), "--host", "127.0.0.1", "--port", CliBackups.port(c), "--user",
                    "postgres", "--check-timeout", "60");
            assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(40);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: archive_command: archive_library is set to 'basic_archive' (in ")
                    .contains("with archive_command also set, the server archives nothing");
            assertThat((System.nanoTime() - t0) / 1e9).isLessThan(30);
        } finally {
            PgSupport.sql(c, "ALTER SYSTEM RESET archive_command", "SELECT pg_reload_conf()");
        }
    }
}
