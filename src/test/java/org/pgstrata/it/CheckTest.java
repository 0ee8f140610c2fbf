package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;

/** pgstrata check on real servers: all well, and each failure with its own line and exit code. */
class CheckTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster archived;
    static Path repo;

    @BeforeAll
    static void setUp() {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        archived = archivingCluster("archived", repo);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static LocalCluster cluster(String name, boolean checksums) {
        PgBinaries bin = PgBinaries.resolve(null, 15, PgSupport.env());
        LocalCluster c = pg.track(LocalCluster.init(dir.resolve(name), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), null, checksums)));
        c.start();
        return c;
    }

    /** A cluster with checksums that archives into {@code into} (wal setup --apply, then a restart). */
    private static LocalCluster archivingCluster(String name, Path into) {
        LocalCluster c = cluster(name, true);
        CliBackups.ok("wal", "setup", "--apply", "--repo", into.toString(), "--pgdata", c.pgdata().toString(), "--port", CliBackups.port(c));
        c.stop();
        c.start();
        return c;
    }

    private static CliRun check(LocalCluster c, Path r, String... more) {
        String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("check", "-q", "--repo", r.toString(), "--port",
                CliBackups.port(c), "--host", "127.0.0.1", "--user", "postgres"), java.util.stream.Stream.of(more)).toArray(String[]::new);
        return CliRun.run(args);
    }

    @Test
    void allWell_switchedSegmentReachesTheRepository() throws Exception {
        CliRun r = check(archived, repo, "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("checks")).extracting(n -> n.get("name").asText() + "=" + n.get("ok").asBoolean())
                .containsExactly("connection=true", "repository=true", "checksums=true", "archive_command=true", "archiving=true");
        String segment = j.get("segment").asText();
        try (Repository rep = Repository.open(repo.toString())) {
            assertThat(new WalArchive(rep.storage()).find(segment)).isPresent();
        }
        r = check(archived, repo);
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("ok: archiving: ").contains("ok: checksums: data checksums are on");
    }

    @Test
    void checksumsOff_andArchivingOff_eachOneLine() throws Exception {
        LocalCluster c = cluster("plain", false);
        Path r2 = dir.resolve("repo-plain");
        CliBackups.ok("repo", "init", "--repo", r2.toString(), "--pgdata", c.pgdata().toString());
        CliRun r = check(c, r2);
        assertThat(r.exitCode()).isEqualTo(20);
        assertThat(r.errLines()).containsExactly(
                "pgstrata: error: checksums: data checksums are off on postgres@127.0.0.1:" + CliBackups.port(c) + "/postgres; hint: "
                        + "incremental and differential backups need them: stop the cluster and run pg_checksums --enable",
                "pgstrata: error: archive_command: archive_mode is off: the server archives no WAL; hint: pgstrata wal setup --apply "
                        + "writes it (archive_mode takes a restart)");
    }

    /**
     * A --pgdata (a stanza's pgdata) that is another cluster's data directory is what a backup
     * refuses (exit 13): check, which answers for the stanza, must not pass it.
     */
    @Test
    void pgdataOfAnotherCluster_fails13() throws Exception {
        PgBinaries bin = PgBinaries.resolve(null, 15, PgSupport.env());
        LocalCluster other = pg.track(LocalCluster.init(dir.resolve("other-data"), bin,
                new LocalCluster.InitOptions(LocalCluster.freePort(), null, true)));
        CliRun r = check(archived, repo, "--pgdata", other.pgdata().toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(13);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: pgdata: " + other.pgdata() + " belongs to the cluster with system identifier ")
                .contains("; hint: ");
        // Its own data directory passes, with the item said.
        r = check(archived, repo, "--pgdata", archived.pgdata().toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("ok: pgdata: ");
    }

    @Test
    void archiveCommandIntoAnotherRepository_fails40() throws Exception {
        Path other = dir.resolve("other repo");
        CliBackups.ok("repo", "init", "--repo", other.toString(), "--pgdata", archived.pgdata().toString());
        CliRun r = check(archived, other);
        assertThat(r.exitCode()).isEqualTo(40);
        assertThat(r.errLines()).containsExactly("pgstrata: error: archive_command: archive_command archives into " + repo + ", not into "
                + other + "; hint: pgstrata wal setup --apply writes it (archive_mode takes a restart)");
    }

    /** The repository named through a symbolic link (/var/lib/pgstrata -> /srv/backup) is the one archive_command archives into. */
    @Test
    void repositoryNamedThroughASymlink_isTheSameRepository() throws Exception {
        Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("repo-link"), repo);
        CliRun r = check(archived, link);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("ok: archive_command: ").contains("ok: archiving: ");
    }

    @Test
    void foreignArchiveCommand_fails40() throws Exception {
        LocalCluster c = archivingCluster("foreign", dir.resolve("repo-foreign"));
        PgSupport.sql(c, "ALTER SYSTEM SET archive_command = 'cp %p /nowhere/%f'", "SELECT pg_reload_conf()");
        PgSupport.awaitSetting(c, "archive_command", "cp %p /nowhere/%f", 30); // the reload returns before the server rereads its files
        CliRun r = check(c, dir.resolve("repo-foreign"));
        assertThat(r.exitCode()).isEqualTo(40);
        assertThat(r.errLines()).containsExactly("pgstrata: error: archive_command: archive_command does not run pgstrata wal push: "
                + "cp %p /nowhere/%f; hint: pgstrata wal setup --apply writes it (archive_mode takes a restart)");
    }

    @Test
    void archiverFailing_failsFast41_namingTheSegment() throws Exception {
        Path r3 = dir.resolve("repo-failing");
        LocalCluster c = archivingCluster("failing", r3);
        // The repository already holds other content under the name of the segment being written: every push of it is refused.
        String current = PgSupport.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        try (Repository rep = Repository.open(r3.toString())) {
            new WalArchive(rep.storage()).put(current, new byte[] {1, 2, 3}, Compression.ZSTD);
        }
        PgSupport.sql(c, "SELECT pg_create_restore_point('x')", "SELECT pg_switch_wal()");
        long t0 = System.nanoTime();
        CliRun r = check(c, r3, "--check-timeout", "600");
        assertThat((System.nanoTime() - t0) / 1e9).as("fails fast, not at the timeout").isLessThan(120);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(41);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: archiving: archive_command failed for " + current + " (")
                .contains("the server log says why archive_command failed");
    }
}
