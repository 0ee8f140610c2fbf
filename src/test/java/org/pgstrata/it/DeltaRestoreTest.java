package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * restore --delta back into the source's own data directory: after rows changed, a table was
 * added, a relation file was cut short, a block was overwritten and stray files appeared, the
 * directory is brought back to the backup's point (or a point-in-time target), proven by content
 * and amcheck; and the directories a delta restore must refuse, with nothing changed.
 */
class DeltaRestoreTest extends PgTest {

    private JsonNode deltaRestore(Path repo, LocalCluster c, String... which) {
        List<String> args = new ArrayList<>(List.of("restore", "-q", "--json", "--delta", "--repo", repo.toString(), "--to",
                c.pgdata().toString(), "--start", "--port", Integer.toString(LocalCluster.freePort())));
        args.addAll(List.of(which));
        return CliBackups.run(args.toArray(String[]::new));
    }

    /** A process id that no process has: one that just ended. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void fullBackup_deltaIntoTheSourcesOwnDirectory_fixesChangedTruncatedAndStrayFiles() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
            Db.execute(c, "VACUUM ANALYZE books");
        }
        Path tablespace = Files.createDirectories(dir.resolve("ts"));
        PgSupport.sql(src, "CREATE TABLESPACE ts LOCATION '" + tablespace + "'",
                "CREATE TABLE spaced (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO spaced SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        PgSupport.sql(src, "UPDATE spaced SET v = 'changed' WHERE id % 3 = 0");

        String heap = PgSupport.queryString(src, "SELECT pg_relation_filepath('books')");
        String index = PgSupport.queryString(src, "SELECT pg_relation_filepath('books_pkey')");
        PgSupport.sql(src, "CREATE TABLE extra (id int PRIMARY KEY, v text)", "INSERT INTO extra SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        String extra = PgSupport.queryString(src, "SELECT pg_relation_filepath('extra')");
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 300, 300, 300, 5);
        }
        src.stop();

        Path data = src.pgdata();
        long heapSize = Files.size(data.resolve(heap));
        try (RandomAccessFile f = new RandomAccessFile(data.resolve(heap).toFile(), "rw")) {
            f.setLength(3 * 8192); // a relation cut short
        }
        try (RandomAccessFile f = new RandomAccessFile(data.resolve(index).toFile(), "rw")) {
            f.seek(8192 + 100);
            f.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}); // one block of the index changed
        }
        Files.writeString(data.resolve("stray.txt"), "not in the backup");
        Files.createDirectories(data.resolve("stray-dir/sub"));
        Files.writeString(data.resolve("stray-dir/sub/f"), "x");
        Files.createSymbolicLink(data.resolve("stray-link"), dir);
        // A crashed server leaves its pid file behind: stale, not "running".
        Files.writeString(data.resolve("postmaster.pid"), deadPid() + "\n" + data + "\n");

        JsonNode r = deltaRestore(repo, src);
        assertThat(r.get("backupId").asText()).isEqualTo(full);
        JsonNode d = r.get("delta");
        assertThat(d.get("bytesWritten").asLong()).isPositive().isLessThan(r.get("bytes").asLong() / 2);
        assertThat(d.get("filesUnchanged").asLong()).isPositive();
        assertThat(d.get("filesRemoved").asLong()).isGreaterThanOrEqualTo(4);
        assertThat(data.resolve("stray.txt")).doesNotExist();
        assertThat(data.resolve("stray-dir")).doesNotExist();
        assertThat(Files.exists(data.resolve("stray-link"), java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(dir).exists(); // the link went, not what it pointed at
        assertThat(data.resolve(extra)).doesNotExist();
        assertThat(data.resolve("global/pg_control.pgstrata-delta")).doesNotExist();
        // The tablespace stays where it was: its link is kept and written through.
        try (Stream<Path> links = Files.list(data.resolve("pg_tblspc"))) {
            assertThat(links.toList()).singleElement().satisfies(l -> assertThat(Files.readSymbolicLink(l)).isEqualTo(tablespace));
        }

        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        assertThat(Files.size(data.resolve(heap))).isLessThanOrEqualTo(heapSize);
    }

    /**
     * A large relation file is stored in 4 MiB zstd frames; when a few of its blocks changed, a
     * delta restore decompresses only the frames holding them and takes the others' content from
     * the local file (its blocks hash as the backup's block map says): bytesReused counts them.
     * Then the same with a local block changed in every frame: nothing is reused, and the result
     * is the backup's all the same.
     */
    @Test
    void aFewChangedBlocksOfALargeFile_decompressOnlyTheirFrames() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        // fillfactor 10 and rows of 400 bytes: one row a page, 3,000 rows in 24 MB, six frames.
        PgSupport.sql(src, "CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 10, autovacuum_enabled = off)",
                "INSERT INTO big SELECT g, rpad(g::text, 400, '.') FROM generate_series(1, 3000) g", "VACUUM big", "CHECKPOINT");
        String heap = PgSupport.queryString(src, "SELECT pg_relation_filepath('big')");
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);
        long frame = 4L << 20;
        long size = Files.size(src.pgdata().resolve(heap));
        assertThat(size).isGreaterThan(5 * frame);

        // Rows 1-5 live in blocks 0-4, all in the first frame; updated in place (HOT: the page has room).
        PgSupport.sql(src, "UPDATE big SET pad = rpad('changed', 400, '#') WHERE id <= 5", "CHECKPOINT");
        src.stop();
        JsonNode r = deltaRestore(repo, src);
        assertThat(r.get("backupId").asText()).isEqualTo(full);
        long reused = r.get("delta").get("bytesReused").asLong();
        assertThat(reused).as("bytes of the large file's unchanged frames taken from the local copy").isGreaterThanOrEqualTo(4 * frame);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        src.stop();

        // One byte changed in a block of every frame (a tuple's padding: the page checksum no longer
        // matches, which the restore must undo): every frame is decompressed, none reused.
        try (RandomAccessFile f = new RandomAccessFile(src.pgdata().resolve(heap).toFile(), "rw")) {
            for (long at = 8192 - 100; at < size; at += frame) {
                f.seek(at);
                f.write(0x2a);
            }
        }
        JsonNode again = deltaRestore(repo, src);
        assertThat(again.get("delta").get("bytesReused").asLong()).isZero();
        assertThat(again.get("delta").get("bytesWritten").asLong()).isLessThan(again.get("bytes").asLong() / 10);
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
    }

    @Test
    void incrementalAndPitrTargets_deltaBackAndForthInOneDirectory() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 10_000, 5_000);
        String full = CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(src);
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 200, 200, 100, 2);
        }
        String incr = CliBackups.backupId(repo, src, "incr");
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 300, 50, 3);
        }
        Map<String, ContentChecksum.Result> atPoint = ClusterContent.of(src);
        PgSupport.sql(src, "SELECT pg_create_restore_point('p')");
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 400, 400, 400, 4);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        src.stop();

        // The incremental plus archived WAL up to the restore point.
        JsonNode r = deltaRestore(repo, src, "--backup", incr, "--target-name", "p");
        assertThat(r.get("backupId").asText()).isEqualTo(incr);
        assertThat(r.get("delta").get("bytesWritten").asLong()).isLessThan(r.get("bytes").asLong());
        assertThat(ClusterContent.proof(src)).isEqualTo(atPoint);

        // Then, from a later timeline, back to the full's own point.
        PgSupport.sql(src, "CREATE TABLE later (id int)", "INSERT INTO later SELECT generate_series(1, 1000)");
        src.stop();
        r = deltaRestore(repo, src, "--backup", full);
        assertThat(r.get("backupId").asText()).isEqualTo(full);
        assertThat(ClusterContent.proof(src)).isEqualTo(atFull);
    }

    @Test
    void differentialAndReverseStepBack_deltaIntoTheSourcesOwnDirectory() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path diffRepo = dir.resolve("diff-repo");
        Path reverseRepo = dir.resolve("reverse-repo");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 10_000, 5_000, 1, Progress.NONE);
        }
        CliBackups.backupId(diffRepo, src, "full");
        String olderReverse = CliBackups.backupId(reverseRepo, src, "reverse");
        Map<String, ContentChecksum.Result> atOlder = ClusterContent.of(src);
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 300, 300, 100, 21);
        }
        PgSupport.sql(src, "CREATE TABLE added (id int PRIMARY KEY)", "INSERT INTO added SELECT generate_series(1, 2000)");
        String diff = CliBackups.backupId(diffRepo, src, "diff");
        Map<String, ContentChecksum.Result> atDiff = ClusterContent.of(src);
        CliBackups.backupId(reverseRepo, src, "reverse"); // the older one becomes a reverse delta over this full
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 300, 300, 300, 22);
        }
        src.stop();

        JsonNode r = deltaRestore(diffRepo, src, "--backup", diff);
        assertThat(r.get("backupId").asText()).isEqualTo(diff);
        assertThat(r.get("delta").get("bytesWritten").asLong()).isLessThan(r.get("bytes").asLong());
        assertThat(ClusterContent.proof(src)).isEqualTo(atDiff);
        src.stop();

        r = deltaRestore(reverseRepo, src, "--steps-back", "1");
        assertThat(r.get("backupId").asText()).isEqualTo(olderReverse);
        assertThat(r.get("delta").get("bytesWritten").asLong()).isLessThan(r.get("bytes").asLong());
        assertThat(ClusterContent.proof(src)).isEqualTo(atOlder);
    }

    @Test
    void refusals_runningServerOtherSystemNotADataDirectory_changeNothing() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        Files.writeString(src.pgdata().resolve("stray.txt"), "kept while refused");

        // Without --delta, a data directory is refused with a hint to it.
        CliRun plain = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", src.pgdata().toString());
        assertThat(plain.exitCode()).isEqualTo(ErrorCode.TARGET_NOT_EMPTY.exitCode());
        assertThat(plain.errLines()).singleElement().asString().contains("it is a PostgreSQL data directory").contains("add --delta");

        // The server still runs.
        CliRun running = restoreDelta(repo, src.pgdata());
        assertThat(running.exitCode()).isEqualTo(ErrorCode.SERVER_RUNNING.exitCode());
        assertThat(running.errLines().get(0)).startsWith("pgstrata: error: cannot delta-restore into " + src.pgdata()
                + ": a server is running there (postgres process");
        assertThat(running.errLines()).hasSize(1);
        assertThat(running.errLines().get(0)).contains("; hint: stop the server first");
        src.stop();

        // Another cluster's directory.
        LocalCluster other = pg.start("other", 17);
        other.stop();
        List<String> before = listing(other.pgdata());
        CliRun otherSystem = restoreDelta(repo, other.pgdata());
        assertThat(otherSystem.exitCode()).isEqualTo(ErrorCode.REPO_MISMATCH.exitCode());
        assertThat(otherSystem.errLines().get(0)).contains("the directory belongs to system").contains("nothing was changed");
        assertThat(listing(other.pgdata())).isEqualTo(before);

        // Not a data directory.
        Path notData = Files.createDirectories(dir.resolve("not-data"));
        Files.writeString(notData.resolve("notes.txt"), "mine");
        List<String> notDataBefore = listing(notData);
        CliRun notADataDir = restoreDelta(repo, notData);
        assertThat(notADataDir.exitCode()).isEqualTo(ErrorCode.NOT_A_DATA_DIR.exitCode());
        assertThat(notADataDir.errLines().get(0)).contains("is not a PostgreSQL data directory");
        assertThat(listing(notData)).isEqualTo(notDataBefore);

        assertThat(src.pgdata().resolve("stray.txt")).exists();
        assertThat(src.pgdata().resolve("global/pg_control")).exists();
    }

    private static CliRun restoreDelta(Path repo, Path to) {
        return CliRun.run("restore", "-q", "--delta", "--repo", repo.toString(), "--to", to.toString());
    }

    /** Every path under {@code dir} with its size and modification time. */
    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> !p.equals(dir)).map(p -> {
                try {
                    return dir.relativize(p) + (Files.isRegularFile(p) ? " " + Files.size(p) + " " + Files.getLastModifiedTime(p) : "");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).sorted().toList();
        }
    }
}
