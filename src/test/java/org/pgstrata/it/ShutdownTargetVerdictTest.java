package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.postgres.Lsn;

/**
 * A restore to a shutdown target (--target-action shutdown --start) decided that the server had
 * stopped at its target when the end of its log said "shut down". PostgreSQL writes that line
 * after any failed start too: a copy whose shared_preload_libraries names a library this host
 * lacks exited at once ("FATAL: could not access file ...", "database system is shut down"), and
 * the restore exited 0, "shut down", never having recovered anything. And a cluster whose
 * log_min_messages is fatal writes no LOG line at all: a restore that reached its target exited
 * 19. The verdict is now pg_control's, which only a shutdown during archive recovery leaves as
 * "shut down in recovery".
 */
class ShutdownTargetVerdictTest extends PgTest {

    private record Source(Path repo, String lsn) {
    }

    /** A source with {@code conf} appended to its postgresql.conf (and in effect), backed up, then changed past an LSN. */
    private Source source(String conf) throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        Files.writeString(source.pgdata().resolve("postgresql.conf"), conf, java.nio.file.StandardOpenOption.APPEND);
        source.stop();
        source.start();
        return new Source(repo, ShutdownTarget.prepare(source, repo));
    }

    private CliRun restoreToShutdown(Source s, Path copy) {
        CliRun r = CliRun.run("restore", "--repo", s.repo().toString(), "--to", copy.toString(), "--target-lsn", s.lsn(), "--target-action",
                "shutdown", "--start", "--port", Integer.toString(LocalCluster.freePort()), "--json");
        pg.trackRestored(copy, 17);
        return r;
    }

    @Test
    void aCopyThatCannotStart_isNotReportedAsShutDownAtItsTarget() throws Exception {
        // The source preloads pg_stat_statements; the restore host's binaries lack it
        Source s = source("shared_preload_libraries = 'pg_stat_statements'\n");
        Path lacking = binariesWithout(dir, "pg_stat_statements");
        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", s.repo().toString(), "--to", copy.toString(), "--target-lsn", s.lsn(), "--target-action",
                "shutdown", "--start", "--pg-bin", lacking.toString(), "--port", Integer.toString(LocalCluster.freePort()), "--json");
        pg.trackRestored(copy, 17);
        // The host lacks what the copy's configuration needs: binaries missing (18), in one line that names the library
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(18);
        assertThat(r.err()).contains("\"pg_stat_statements\"").contains("shared_preload_libraries").doesNotContain("\n\tat ");
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.out()).doesNotContain("shut down");

        // A drill on such a host proves nothing about the backup: an error, not a failed drill recorded against it
        CliRun drill = CliRun.run("drill", "--repo", s.repo().toString(), "--pg-bin", lacking.toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isEqualTo(18);
        assertThat(drill.err()).contains("\"pg_stat_statements\"");
        assertThat(s.repo().resolve("drill")).as("no drill recorded").satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
                p -> assertThat(p).isEmptyDirectory());
    }

    /** A copy (in {@code dir}) of the bundled PostgreSQL 17 without the library {@code name}: its bin directory. */
    static Path binariesWithout(Path dir, String name) throws Exception {
        Path bundled = PgBinaries.resolve(null, 17, PgSupport.env()).binDir().toRealPath().getParent();
        Path lacking = dir.resolve("pg-without-" + name);
        assertThat(new ProcessBuilder("cp", "-a", bundled.toString(), lacking.toString()).inheritIO().start().waitFor()).isZero();
        try (var found = Files.find(lacking, 4, (p, a) -> p.getFileName().toString().startsWith(name + "."))) {
            for (Path p : found.toList()) {
                Files.delete(p);
            }
        }
        return lacking.resolve("bin");
    }

    @ParameterizedTest
    @ValueSource(strings = {"log_min_messages = fatal", "log_destination = 'syslog'", "logging_collector = on\nlog_destination = 'syslog'"})
    void aClusterThatWritesNoLogLinesToAFile_isRestoredToAShutdownTarget(String conf) throws Exception {
        Source s = source(conf + "\n");
        Path copy = dir.resolve("copy");
        CliRun r = restoreToShutdown(s, copy);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode result = new ObjectMapper().readTree(r.out());
        assertThat(result.path("state").asText()).as(r.out()).isEqualTo("shut down");
        String stopped = result.path("stoppedAtLsn").asText();
        assertThat(stopped).as(r.out() + r.err()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(Lsn.parse(stopped).compareTo(Lsn.parse(s.lsn()))).isGreaterThanOrEqualTo(0);
        // Its own setting is kept in its configuration
        assertThat(Files.readString(copy.resolve("postgresql.conf"))).contains(conf);
    }
}
