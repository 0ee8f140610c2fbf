package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * wal setup --apply on a stopped cluster appends to postgresql.auto.conf, which the server reads
 * last, without a server to ask what its configuration already says. It wrote wal_level =
 * replica over a publisher's logical (the server then refused to start: its logical slot needs
 * logical), archive_mode = on over always (a standby stopped archiving its own WAL), an
 * archive_command beside archive_library (16+: all archiving stops) and over another tool's
 * command without a word. It now reads the configuration as the server will (postgres -C), as it
 * asks a running server.
 */
class WalSetupStoppedClusterTest extends PgTest {

    /** A PostgreSQL 17 cluster with {@code conf} in its postgresql.conf, started, {@code sql} run, and stopped. */
    private LocalCluster stoppedWith(String name, String conf, String... sql) throws Exception {
        PgBinaries bin = PgBinaries.resolve(null, 17, PgSupport.env());
        LocalCluster c = pg.track(LocalCluster.init(dir.resolve(name), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), conf, true)));
        c.start();
        PgSupport.sql(c, sql);
        c.stop();
        return c;
    }

    private static CliRun apply(Path repo, LocalCluster c) {
        return CliRun.run("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString());
    }

    @Test
    void aPublishersWalLevelLogical_isKept_andItsSlotStillWorks() throws Exception {
        LocalCluster c = stoppedWith("logical", "wal_level = logical\n", "SELECT pg_create_logical_replication_slot('sub', 'test_decoding')");
        CliRun run = apply(dir.resolve("repo-logical"), c);
        assertThat(run.exitCode()).as(run.err()).isZero();
        c.start();
        assertThat(PgSupport.queryString(c, "SHOW wal_level")).isEqualTo("logical");
        assertThat(PgSupport.queryString(c, "SELECT count(*) >= 0 FROM pg_logical_slot_peek_changes('sub', NULL, NULL)")).isEqualTo("t");
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).contains("wal push");
        c.stop(); // a fast shutdown waits for the archiver, whose wal push would still write into the test's directory
    }

    @Test
    void archiveModeAlways_isKept() throws Exception {
        LocalCluster c = stoppedWith("always", "archive_mode = always\n");
        CliRun run = apply(dir.resolve("repo-always"), c);
        assertThat(run.exitCode()).as(run.err()).isZero();
        c.start();
        assertThat(PgSupport.queryString(c, "SHOW archive_mode")).isEqualTo("always");
        assertThat(PgSupport.queryString(c, "SHOW archive_command")).contains("wal push");
        c.stop(); // a fast shutdown waits for the archiver, whose wal push would still write into the test's directory
    }

    @Test
    void anArchiveLibrary_isRefusedInOneLine_andNothingIsWritten() throws Exception {
        LocalCluster c = stoppedWith("library", "archive_mode = on\narchive_library = 'basic_archive'\nbasic_archive.archive_directory = '"
                + dir.resolve("basic") + "'\n");
        byte[] auto = Files.readAllBytes(c.pgdata().resolve("postgresql.auto.conf"));
        CliRun run = apply(dir.resolve("repo-library"), c);
        assertThat(run.exitCode()).as(run.err()).isEqualTo(20);
        assertThat(run.errLines()).singleElement().asString().startsWith("pgstrata: error: ").contains("archive_library").contains("basic_archive");
        assertThat(c.pgdata().resolve("postgresql.auto.conf")).hasBinaryContent(auto);
        assertThat(dir.resolve("repo-library")).as("no repository made").doesNotExist();
    }

    @Test
    void anotherToolsArchiveCommand_isNamedAsReplaced() throws Exception {
        LocalCluster c = stoppedWith("other", "archive_mode = on\narchive_command = 'test -n other-tool-%f'\n");
        CliRun run = apply(dir.resolve("repo-other"), c);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("it replaces archive_command 'test -n other-tool-%f', which no longer runs");
        assertThat(apply(dir.resolve("repo-other"), c).out()).as("run again, with its own command in place").doesNotContain("replaces");
    }
}
