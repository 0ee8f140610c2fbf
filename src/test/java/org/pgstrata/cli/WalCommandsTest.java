package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.it.PgSupport;

/**
 * wal push and wal get as PostgreSQL runs them: the lean entry point, its exit codes and one
 * line messages, on real WAL segments.
 */
class WalCommandsTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster cluster;
    /** Copies of real, complete segments, in a pg_wal-like directory with archive_status/. */
    static Path walDir;
    static List<String> segments = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        cluster = pg.start("pg", 17);
        try (Connection c = PgSupport.connect(cluster)) {
            Books.init(c);
            for (int i = 0; i < 3; i++) {
                Books.populate(c, 2_000, 2_000, i + 1, Progress.NONE);
                segments.add(Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())"));
                Db.execute(c, "SELECT pg_switch_wal()");
            }
        }
        walDir = Files.createDirectories(dir.resolve("staging/pg_wal"));
        Files.createDirectories(walDir.resolve("archive_status"));
        for (String s : segments) {
            Files.copy(cluster.pgdata().resolve("pg_wal").resolve(s), walDir.resolve(s));
        }
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static Path newRepo(String name) {
        Path repo = dir.resolve(name);
        PgSupport.facade().repoInit(repo.toString(), cluster.pgdata());
        return repo;
    }

    /** Runs the lean entry point as archive_command would, capturing stderr. */
    record Run(int code, String err) {
    }

    private static synchronized Run lean(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertThat(LeanWal.handles(args)).isTrue();
            return new Run(LeanWal.run(args), buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void push_thenGet_returnsTheSameBytes_andPushingAgainSucceeds() throws Exception {
        Path repo = newRepo("repo-basic");
        String seg = segments.get(0);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path out = dir.resolve("got-" + seg);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, out.toString()).code()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(seg)));
    }

    @Test
    void get_ofAFileTheArchiveLacks_exitsOne() {
        Path repo = newRepo("repo-missing");
        Run r = lean("wal", "get", "--repo", repo.toString(), "00000001000000000000FFFF", dir.resolve("nothing").toString());
        assertThat(r.code()).isEqualTo(LeanWal.NOT_IN_ARCHIVE);
        assertThat(r.err()).contains("00000001000000000000FFFF is not in the archive");
        assertThat(dir.resolve("nothing")).doesNotExist();
    }

    @Test
    void push_withOtherFilesReady_archivesThemAllInOneRun() throws Exception {
        Path repo = newRepo("repo-batch");
        for (String s : segments) {
            Files.writeString(walDir.resolve("archive_status").resolve(s + ".ready"), "");
        }
        try {
            Run r = lean("wal", "push", "--repo", repo.toString(), walDir.resolve(segments.get(0)).toString());
            assertThat(r.code()).isZero();
            assertThat(r.err()).contains("and " + (segments.size() - 1) + " more ready file(s)");
            for (String s : segments) {
                Path out = dir.resolve("batch-" + s);
                assertThat(lean("wal", "get", "--repo", repo.toString(), s, out.toString()).code()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(s)));
            }
        } finally {
            for (String s : segments) {
                Files.deleteIfExists(walDir.resolve("archive_status").resolve(s + ".ready"));
            }
        }
    }

    @Test
    void archiveCommand_answersLaterCallsForPushedAheadFiles_fromTheSpool_withoutAJvm() throws Exception {
        Path repo = newRepo("repo-spool");
        for (String s : segments) {
            Files.writeString(walDir.resolve("archive_status").resolve(s + ".ready"), "");
        }
        try {
            String command = org.pgstrata.wal.WalPush.archiveCommand(repo.toString());
            for (String s : segments) {
                // What PostgreSQL does with archive_command: %p, %f, and %% for a plain %.
                String line = command.replace("%p", walDir.resolve(s).toString()).replace("%f", s).replace("%%", "%");
                Process p = new ProcessBuilder("sh", "-c", line).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor()).as(out).isZero();
                // As PostgreSQL does after a successful call.
                Files.move(walDir.resolve("archive_status").resolve(s + ".ready"), walDir.resolve("archive_status").resolve(s + ".done"));
            }
            // The first call pushed them all and noted the others; the later calls used (and removed) the notes.
            try (Stream<Path> notes = Files.list(repo.resolve("spool"))) {
                assertThat(notes.toList()).isEmpty();
            }
            for (String s : segments) {
                Path out = dir.resolve("spool-" + s);
                assertThat(lean("wal", "get", "--repo", repo.toString(), s, out.toString()).code()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(s)));
            }
        } finally {
            for (String s : segments) {
                Files.deleteIfExists(walDir.resolve("archive_status").resolve(s + ".ready"));
                Files.deleteIfExists(walDir.resolve("archive_status").resolve(s + ".done"));
            }
        }
    }

    @Test
    void aSpoolNoteForAnotherFileOfTheSameName_isNotTrusted() throws Exception {
        Path repo = newRepo("repo-stale-note");
        String seg = segments.get(0);
        // A note left behind for some earlier file of this name (a different inode, size or time).
        Files.createDirectories(repo.resolve("spool"));
        Files.writeString(repo.resolve("spool").resolve(seg), "1 2 3\n");
        String line = org.pgstrata.wal.WalPush.archiveCommand(repo.toString()).replace("%p", walDir.resolve(seg).toString())
                .replace("%f", seg).replace("%%", "%");
        Process p = new ProcessBuilder("sh", "-c", line).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        // It went through a real push: the segment is archived, and the stale note is gone.
        Path out = dir.resolve("stale-" + seg);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, out.toString()).code()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(seg)));
        assertThat(repo.resolve("spool").resolve(seg)).doesNotExist();
    }

    @Test
    void pushOfDifferentContentUnderAnArchivedName_isRefused_andKeepsTheOriginal() throws Exception {
        Path repo = newRepo("repo-conflict");
        String seg = segments.get(1);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        // Same name, same header (same cluster), different bytes further in.
        Path other = Files.createDirectories(dir.resolve("other/pg_wal")).resolve(seg);
        byte[] bytes = Files.readAllBytes(walDir.resolve(seg));
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(other, bytes);
        Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", other.toString());
        assertThat(r.code()).isEqualTo(ErrorCode.WAL_CONFLICT.exitCode());
        assertThat(r.err()).startsWith("pgstrata: error: the archive already holds " + seg + " with different content")
                .contains("kept").contains("hint: ");
        assertThat(r.err().strip().lines()).hasSize(1);
        Path out = dir.resolve("kept-" + seg);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, out.toString()).code()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(seg)));
    }

    @Test
    void getOfACorruptArchivedSegment_failsNamingTheObject() throws Exception {
        Path repo = newRepo("repo-corrupt");
        String seg = segments.get(2);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path object;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            object = s.filter(p -> p.getFileName().toString().startsWith(seg + "-")).findFirst().orElseThrow();
        }
        byte[] stored = Files.readAllBytes(object);
        stored[stored.length / 2] ^= 0x01;
        Files.write(object, stored);
        Run r = lean("wal", "get", "--repo", repo.toString(), seg, dir.resolve("corrupt-out").toString());
        // Above 125: PostgreSQL must stop recovery here, not take the damage for the end of the archive.
        assertThat(r.code()).isEqualTo(LeanWal.GET_DAMAGED).isGreaterThan(125);
        assertThat(r.err()).contains("archived WAL " + seg + " is damaged").contains(repo.relativize(object).toString());
        assertThat(dir.resolve("corrupt-out")).doesNotExist();
    }

    @Test
    void pushOfAnotherClustersWal_isRefused() throws Exception {
        try (PgSupport other = new PgSupport(dir.resolve("other-cluster"))) {
            LocalCluster o = other.start("pg", 17);
            Path repo = dir.resolve("repo-other");
            PgSupport.facade().repoInit(repo.toString(), o.pgdata());
            Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(segments.get(0)).toString());
            assertThat(r.code()).isEqualTo(ErrorCode.REPO_MISMATCH.exitCode());
            assertThat(r.err()).contains("belongs to the cluster with system identifier");
        }
    }

    @Test
    void historyPartialAndBackupHistoryFiles_areArchived() throws Exception {
        Path repo = newRepo("repo-kinds");
        Path history = walDir.resolve("00000002.history");
        Files.writeString(history, "1\t0/5000000\tno recovery target specified\n");
        Path partial = walDir.resolve(segments.get(0) + ".partial");
        Files.copy(walDir.resolve(segments.get(0)), partial);
        Path backupHistory = walDir.resolve(segments.get(0) + ".00000028.backup");
        Files.writeString(backupHistory, "START WAL LOCATION: 0/2000028\n");
        try {
            for (Path p : List.of(history, partial, backupHistory)) {
                assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", p.toString()).code()).as(p.toString()).isZero();
                Path out = dir.resolve("kind-" + p.getFileName());
                assertThat(lean("wal", "get", "--repo", repo.toString(), p.getFileName().toString(), out.toString()).code()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(p));
            }
        } finally {
            Files.deleteIfExists(history);
            Files.deleteIfExists(partial);
            Files.deleteIfExists(backupHistory);
        }
    }

    @Test
    void aPushKilledAtAnyPoint_neverLeavesAPartialSegmentThatGetWouldReturn() throws Exception {
        Path repo = newRepo("repo-killed");
        String seg = segments.get(0);
        byte[] original = Files.readAllBytes(walDir.resolve(seg));
        int complete = 0;
        int absent = 0;
        for (int delayMs : new int[] {0, 40, 80, 120, 160, 200, 240, 300, 400, 600}) {
            // A fresh archive each time, so that every kill lands on a first push.
            Path each = dir.resolve("repo-killed-" + delayMs);
            PgSupport.facade().repoInit(each.toString(), cluster.pgdata());
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "org.pgstrata.cli.Main", "wal", "push", "--repo", each.toString(),
                    "--no-batch", walDir.resolve(seg).toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Thread.sleep(delayMs);
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            Path out = dir.resolve("killed-out-" + delayMs);
            Run r = lean("wal", "get", "--repo", each.toString(), seg, out.toString());
            if (r.code() == 0) {
                assertThat(Files.readAllBytes(out)).as("push killed after %d ms", delayMs).isEqualTo(original);
                complete++;
            } else {
                assertThat(r.code()).as("push killed after %d ms: %s", delayMs, r.err()).isEqualTo(LeanWal.NOT_IN_ARCHIVE);
                assertThat(out).doesNotExist();
                absent++;
                // And the next push (PostgreSQL retries) works.
                assertThat(lean("wal", "push", "--repo", each.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
                assertThat(lean("wal", "get", "--repo", each.toString(), seg, out.toString()).code()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(original);
            }
        }
        assertThat(complete + absent).isEqualTo(10);
        assertThat(absent).as("some kills must land before the push finished").isPositive();
    }

    @Test
    void unusualArguments_goToTheFullCommandLine_whichExplainsThem() {
        assertThat(LeanWal.handles(new String[] {"wal", "push", "--help"})).isFalse();
        CliRun r = CliRun.run("wal", "push", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("archive_command");
        CliRun get = CliRun.run("wal", "get", "--help");
        assertThat(get.out()).contains("restore_command").contains("1 when the archive");
    }
}
