package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * advise on a real cluster: after a known change, its prediction of the next incremental's bytes
 * is within a fifth of what a real incremental then stores, for two differently shaped changes;
 * it writes nothing to the repository; and the command line prints the strategies and the
 * assumptions.
 */
class AdviseTest extends PgTest {
    private static final double RESTORE_SAMPLE_SECONDS = 0.5;

    private Advice advise(Path repo, LocalCluster c) {
        return PgSupport.facade().advise(new AdviseRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), true, 2, dir,
                RESTORE_SAMPLE_SECONDS));
    }

    private static BackupResult incremental(Path repo, LocalCluster c) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), BackupType.INCR,
                Compression.ZSTD, 2, 0));
    }

    /** Every file of the repository with its size and modification time. */
    private static Map<String, String> listing(Path repo) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(repo)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(repo.relativize(p).toString(), Files.size(p) + " " + Files.getLastModifiedTime(p));
            }
        }
        return files;
    }

    private static void assertWithinAFifth(Advice advice, BackupResult real, String change) {
        long predicted = advice.change().predictedIncrementalBytes();
        System.out.printf("advise after %s: predicted %d B, the real incremental stored %d B (%+.2f%%)%n", change, predicted,
                real.repositoryBytes(), 100.0 * (predicted - real.repositoryBytes()) / real.repositoryBytes());
        assertThat((double) predicted).as("predicted bytes of the incremental after " + change)
                .isBetween(0.8 * real.repositoryBytes(), 1.2 * real.repositoryBytes());
    }

    @Test
    void predictsTheNextIncrementalsBytes_withinAFifthOfWhatItStores() throws Exception {
        LocalCluster src = pg.start("src", 17);
        // The change advise measures must be the change the incremental then sees: no autovacuum in between.
        PgSupport.sql(src, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 30_000, 10_000, 1, Progress.NONE);
            Db.execute(c, "VACUUM ANALYZE books");
        }
        Path repo = dir.resolve("repo");
        BackupResult full = PgSupport.fullBackup(repo, src);

        // A known change: 5000 rows inserted, 2000 updated.
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 5_000, 2_000, 0, 11);
        }
        Map<String, String> before = listing(repo);
        Advice first = advise(repo, src);
        assertThat(listing(repo)).as("advise writes nothing to the repository").isEqualTo(before);
        assertThat(first.change().sinceBackup()).isEqualTo(full.id());
        assertThat(first.change().pagesAsDeltas()).isPositive();
        assertThat(first.wal().known()).as("one backup and no archive: no WAL rate").isFalse();
        assertThat(first.wal().detail()).contains("one backup");
        assertThat(first.strategies()).hasSize(5);
        assertThat(first.strategies()).filteredOn(s -> !s.strategy().equals("base backup + WAL"))
                .allMatch(s -> s.bytesPerWeek() != null && s.restoreLatestSeconds() > 0 && s.restoreWeekOldSeconds() > 0);
        assertThat(first.restoreRate().mbps()).isPositive();
        BackupResult incr = incremental(repo, src);
        assertThat(incr.reference()).isEqualTo(full.id());
        assertWithinAFifth(first, incr, "5000 inserts and 2000 updates");

        // A differently shaped change: deletes and a VACUUM over the table, and a new table (new files, stored whole).
        PgSupport.sql(src, "DELETE FROM books WHERE id % 9 = 0", "VACUUM books",
                "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g");
        Advice second = advise(repo, src);
        assertThat(second.change().sinceBackup()).isEqualTo(incr.id());
        assertThat(second.change().newFiles()).isPositive();
        assertThat(second.wal().source()).as("two backups: the WAL rate between them").isEqualTo("backups");
        assertThat(second.wal().bytesPerHour()).isPositive();
        assertThat(second.strategies()).allMatch(s -> s.bytesPerWeek() != null);
        BackupResult incr2 = incremental(repo, src);
        assertWithinAFifth(second, incr2, "deletes, VACUUM and a new table");

        // The command line: the measurements, a row per strategy, and the assumptions.
        CliRun r = CliRun.run("advise", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "--port",
                Integer.toString(PgSupport.conn(src).port()), "--scratch-dir", dir.toString(), "--sample-seconds", "0.3", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("next incremental:", "restore rate:", "MB/s", "full daily", "incremental chain", "differential",
                "reverse delta", "base backup + WAL", "assumptions");
    }
}
