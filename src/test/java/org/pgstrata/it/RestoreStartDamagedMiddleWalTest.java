package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * {@code restore --start --target latest} whose recovery meets an archived segment damaged between
 * the backup's consistency point and the archive's end: wal get stops recovery (exit 126), and the
 * restore says so in one line, exit 15, naming the segment. It used to glue wal get's whole error
 * line ("pgstrata: error: ...; hint: ...") and the server's shutdown lines into its own message,
 * so the user read "pgstrata: error:" twice, two hints and four server log lines in one.
 */
class RestoreStartDamagedMiddleWalTest extends PgTest {

    @Test
    void aDamagedSegmentPastTheConsistencyPoint_stopsRecoveryWithOneClearLine() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        String full = CliBackups.backupId(repo, src, "full");
        String middle;
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 200, 50, 1);
            middle = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            Db.execute(c, "SELECT pg_switch_wal()");
            Books.mutate(c, 100, 200, 50, 2);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        Path victim;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            victim = s.filter(p -> p.getFileName().toString().equals(middle)).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(victim);
        b[b.length / 2] ^= (byte) 0xff;
        Files.write(victim, b);

        Path copy = dir.resolve("copy");
        pg.trackRestored(copy, 17);
        CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", full, "--target", "latest", "--to", copy.toString(),
                "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(15);
        List<String> lines = r.errLines();
        assertThat(lines).as(r.err()).singleElement().asString()
                .startsWith("pgstrata: error: ")
                .contains("archived WAL " + middle + " is damaged")
                .contains("the restored server in " + copy + " stopped recovery");
        String line = lines.get(0);
        assertThat(line.split("pgstrata: error: ", -1)).as(line).hasSize(2);
        assertThat(line.split("; hint: ", -1)).as(line).hasSize(2);
        assertThat(line).as(line).doesNotContain(" LOG: ").doesNotContain("startup process");
    }
}
