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

    /**
     * pg_wal holds recycled segment files: an old segment renamed ahead for reuse, its old content
     * still in it. One pushed by hand (a catch-up loop over pg_wal) was archived under the new
     * name; the real segment's push was then refused as a conflict (exit 23) at every retry, and
     * archiving stopped. A file whose header starts another segment is refused, and nothing is
     * archived under its name.
     */
    @Test
    void push_ofAFileWhoseHeaderStartsAnotherSegment_isRefused_andTheRealOneArchivesLater() throws Exception {
        Path repo = newRepo("repo-recycled");
        String real = segments.get(2);
        Path recycled = Files.createDirectories(dir.resolve("recycled/pg_wal")).resolve(real);
        Files.copy(walDir.resolve(segments.get(0)), recycled); // segment 0's content under segment 2's name
        Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", recycled.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(15);
        assertThat(r.err()).contains(real).contains("not the start of").hasLineCount(1);
        Run ok = lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(real).toString());
        assertThat(ok.code()).as(ok.err()).isZero();
    }

    /**
     * A get killed while it wrote left its temporary copy beside the target; a get for the same
     * target reuses that name, but one that recovery never asks for again (a history file, a
     * recovery given up) stayed in pg_wal for good. The next get into that directory removes the
     * ones older than an hour, and leaves a newer one, which may be another get's, alone.
     */
    @Test
    void get_removesAnOldTemporaryCopyThatAKilledGetLeft_butNotARecentOne() throws Exception {
        Path repo = newRepo("repo-leftover");
        String seg = segments.get(0);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path pgWal = Files.createDirectories(dir.resolve("leftover/pg_wal"));
        Path old = pgWal.resolve("RECOVERYHISTORY.pgstrata-get");
        Files.write(old, new byte[8192]); // cut short, as a killed get leaves it
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 2 * 3600_000L));
        Path recent = pgWal.resolve("00000002.history.pgstrata-get");
        Files.write(recent, new byte[10]);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, pgWal.resolve("RECOVERYXLOG").toString()).code()).isZero();
        assertThat(Files.readAllBytes(pgWal.resolve("RECOVERYXLOG"))).isEqualTo(Files.readAllBytes(walDir.resolve(seg)));
        assertThat(old).doesNotExist();
        assertThat(recent).exists();
    }

    @Test
    void get_ofAFileTheArchiveLacks_exitsOne() {
        Path repo = newRepo("repo-missing");
        Run r = lean("wal", "get", "--repo", repo.toString(), "00000001000000000000FFFF", dir.resolve("nothing").toString());
        assertThat(r.code()).isEqualTo(LeanWal.NOT_IN_ARCHIVE);
        assertThat(r.err()).contains("00000001000000000000FFFF is not in the archive");
        assertThat(dir.resolve("nothing")).doesNotExist();
    }

    /**
     * A directory repository that is not there (a file system that is not mounted, a removed
     * directory) is no end of the archive: answered 1, recovery to latest would end at the first
     * segment it lacks and promote in the past. It must stop recovery (above 125) and say why,
     * for segments and history files alike, and create nothing where the repository should be; a standby
     * alone still hears 1, as it waits rather than ends.
     */
    @Test
    void get_fromARepositoryThatIsNotThere_failsAbove125_notTheEndOfTheArchive() throws Exception {
        Path gone = dir.resolve("repo-unmounted");
        Path empty = Files.createDirectories(dir.resolve("repo-empty-mountpoint"));
        for (Path repo : List.of(gone, empty)) {
            for (String name : List.of(segments.get(0), "00000002.history")) {
                Run r = lean("wal", "get", "--repo", repo.toString(), name, dir.resolve("unmounted-out").toString());
                assertThat(r.code()).as("%s %s: %s", repo, name, r.err()).isEqualTo(LeanWal.GET_FAILED);
                assertThat(r.err()).contains("no pgstrata repository at " + repo);
                assertThat(dir.resolve("unmounted-out")).doesNotExist();
            }
        }
        assertThat(gone).doesNotExist();
        // A standby waits for its archive (and streams meanwhile) instead of ending recovery: 1 keeps it running.
        Path standby = Files.createDirectories(dir.resolve("standby-unmounted/pg_wal")).getParent();
        Files.writeString(standby.resolve("PG_VERSION"), "17\n");
        Files.createFile(standby.resolve("standby.signal"));
        Run r = lean("wal", "get", "--repo", gone.toString(), segments.get(0), standby.resolve("pg_wal/RECOVERYXLOG").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(LeanWal.NOT_IN_ARCHIVE);
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

    /**
     * PostgreSQL archives in order and retries a file that failed. A batch whose requested file
     * fails as it is stored (on a full disk, whichever write runs out of room first; here the
     * store refuses its key) must not leave later segments archived without it: the archive would
     * hold a gap that verify reports and recovery cannot pass until PostgreSQL's retry fills it.
     * The pushes run side by side, so each round is a fresh race.
     */
    @Test
    void push_whoseRequestedFileFails_archivesNoFileAfterIt_andTheRetryArchivesThemAll() throws Exception {
        Path staging = Files.createDirectories(dir.resolve("failing/pg_wal"));
        Files.createDirectories(staging.resolve("archive_status"));
        for (String s : segments) {
            Files.copy(walDir.resolve(s), staging.resolve(s));
        }
        String first = segments.get(0);
        for (int round = 0; round < 4; round++) {
            Path repo = newRepo("repo-batch-failed-" + round);
            for (String s : segments) {
                Files.writeString(staging.resolve("archive_status").resolve(s + ".ready"), "");
            }
            // A directory where the first segment's object goes: its write fails when it is made visible.
            Path blocked = Files.createDirectories(repo.resolve("archive").resolve(first.substring(0, 16)).resolve(first));
            Run failed = lean("wal", "push", "--repo", repo.toString(), staging.resolve(first).toString());
            assertThat(failed.code()).as(failed.err()).isEqualTo(ErrorCode.IO.exitCode());
            for (String s : segments) {
                assertThat(lean("wal", "get", "--repo", repo.toString(), s, dir.resolve("gap-" + round + s).toString()).code())
                        .as("round %d: %s is archived although %s, before it, is not", round, s, first).isEqualTo(LeanWal.NOT_IN_ARCHIVE);
            }
            assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
            // PostgreSQL's retry, once the store takes the file, archives it and the rest with it.
            Files.delete(blocked);
            Run retried = lean("wal", "push", "--repo", repo.toString(), staging.resolve(first).toString());
            assertThat(retried.code()).as(retried.err()).isZero();
            for (String s : segments) {
                Path out = dir.resolve("retried-" + round + s);
                assertThat(lean("wal", "get", "--repo", repo.toString(), s, out.toString()).code()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(s)));
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

    /**
     * archive_command changed from one S3 repository to another (a new, encrypted one) while
     * notes of files pushed ahead into the old one were pending: the notes of every S3 repository
     * were in one pg_wal/pgstrata-spool, so the new command answered PostgreSQL's calls for those
     * files from them, exit 0, and the files never reached the new repository (a gap that
     * PostgreSQL counts as archived). Each S3 repository has its own notes now.
     */
    @Test
    void archiveCommandChangedToAnotherS3Repository_doesNotTakeTheOldOnesNotes() throws Exception {
        try (org.pgstrata.storage.s3.S3Server s3 = org.pgstrata.storage.s3.S3Server.inMemory()) {
            s3.createBucket("spool");
            String old = s3.location("spool", "old");
            String now = s3.location("spool", "new");
            PgSupport.facade().repoInit(old, cluster.pgdata());
            PgSupport.facade().repoInit(now, cluster.pgdata());
            Path pgdata = Files.createDirectories(dir.resolve("switched"));
            Path wal = Files.createDirectories(pgdata.resolve("pg_wal/archive_status"));
            for (String s : segments) {
                Files.copy(walDir.resolve(s), pgdata.resolve("pg_wal").resolve(s));
                Files.writeString(wal.resolve(s + ".ready"), "");
            }
            for (int i = 0; i < segments.size(); i++) {
                String s = segments.get(i);
                // The first call under the old archive_command (it pushes the others ahead), the later ones under the new.
                String command = org.pgstrata.wal.WalPush.archiveCommand(i == 0 ? old : now);
                String line = command.replace("%p", "pg_wal/" + s).replace("%f", s).replace("%%", "%");
                ProcessBuilder pb = new ProcessBuilder("sh", "-c", line).directory(pgdata.toFile()).redirectErrorStream(true);
                pb.environment().putAll(org.pgstrata.storage.s3.S3Server.environment());
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor()).as(out).isZero();
                Files.move(wal.resolve(s + ".ready"), wal.resolve(s + ".done")); // as PostgreSQL does after a successful call
            }
            for (String s : segments.subList(1, segments.size())) {
                Path out = dir.resolve("switched-" + s);
                Run r = lean("wal", "get", "--repo", now, s, out.toString());
                assertThat(r.code()).as("%s, archived by the new archive_command: %s", s, r.err()).isZero();
                assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(s)));
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

    /**
     * A damaged repo.json stops every fetch, but wal get said "archived WAL SEG is damaged: object repo.json ...", with the hint
     * to restore to an earlier target, which fails the same way: the segment is intact, repo.json is what to put back.
     */
    @Test
    void getFromARepositoryWhoseRepoJsonIsDamaged_blamesRepoJson_notTheSegment() throws Exception {
        Path repo = newRepo("repo-info-damaged");
        String seg = segments.get(2);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        byte[] info = Files.readAllBytes(repo.resolve("repo.json"));
        info[info.length / 2] ^= 0x01;
        Files.write(repo.resolve("repo.json"), info);
        Run r = lean("wal", "get", "--repo", repo.toString(), seg, dir.resolve("info-damaged-out").toString());
        assertThat(r.code()).isEqualTo(LeanWal.GET_DAMAGED);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("repo.json").doesNotContain("archived WAL " + seg + " is damaged").doesNotContain("earlier target");
        assertThat(dir.resolve("info-damaged-out")).doesNotExist();
    }

    @Test
    void getOfACorruptArchivedSegment_failsNamingTheObject() throws Exception {
        Path repo = newRepo("repo-corrupt");
        String seg = segments.get(2);
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path object;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            object = s.filter(p -> p.getFileName().toString().equals(seg)).findFirst().orElseThrow();
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

    /**
     * An archived copy damaged in the store (a flipped bit in its body) while the server still has
     * the segment (it pushes it again after a crash that lost the archive status): the push proves
     * the offered file is the original, whose checksum and size the damaged copy's header records,
     * and stores it again. It exited 15 on every try, and PostgreSQL kept the WAL and retried for
     * ever, with no command to get out (in an encrypted repository not even a name to look for).
     */
    @Test
    void pushOfTheOriginalOverADamagedArchivedCopy_storesItAgain_andGetReturnsIt() throws Exception {
        Path repo = newRepo("repo-mended");
        String seg = segments.get(2);
        pushAndDamageTheBody(repo, seg);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, dir.resolve("mended-before").toString()).code())
                .as("the damage is seen").isEqualTo(LeanWal.GET_DAMAGED);

        Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("warning: ").contains(seg).contains("damaged").contains("stored again");
        Path out = dir.resolve("mended-" + seg);
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, out.toString()).code()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(walDir.resolve(seg)));
    }

    /**
     * What cannot be proven the original is not stored over a damaged copy: other content under
     * its name, or any content when the header (which records the checksum) is what is damaged.
     */
    @Test
    void pushOverADamagedArchivedCopy_thatCannotBeProvenTheOriginal_isRefused_andTheCopyKept() throws Exception {
        Path repo = newRepo("repo-unproven");
        String seg = segments.get(1);
        Path object = pushAndDamageTheBody(repo, seg);
        byte[] body = Files.readAllBytes(object);
        Path other = Files.createDirectories(dir.resolve("unproven/pg_wal")).resolve(seg);
        byte[] bytes = Files.readAllBytes(walDir.resolve(seg));
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(other, bytes);
        Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", other.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(Files.readAllBytes(object)).as("the damaged copy is left as it was").isEqualTo(body);

        byte[] header = Files.readAllBytes(object);
        header[body.length / 2] ^= 0x01; // the body whole again
        header[24] ^= 0x01; // and the recorded checksum damaged
        Files.write(object, header);
        r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString());
        assertThat(r.code()).as(r.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(Files.readAllBytes(object)).isEqualTo(header);
    }

    /**
     * A repository's directory without repo.json is most often a file system that is not mounted
     * (the empty mount point is there). "Create it with repo init" made a second repository there,
     * which hid what was archived meanwhile once the real one was mounted again: the hint says to
     * mount or restore it first.
     */
    @Test
    void pushIntoADirectoryWithoutARepository_hintsAtTheMountFirst() throws Exception {
        Path mountPoint = Files.createDirectories(dir.resolve("not mounted"));
        Run r = lean("wal", "push", "--repo", mountPoint.toString(), "--no-batch", walDir.resolve(segments.get(0)).toString());
        assertThat(r.code()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("no pgstrata repository at " + mountPoint).contains("hint: mount or restore the repository")
                .contains("--repo '" + mountPoint + "' --pgdata DIR"); // a word the shell takes whole
        try (Stream<Path> s = Files.list(mountPoint)) {
            assertThat(s).as("nothing written into the mount point").isEmpty();
        }
    }

    /** Pushes segment {@code seg} into {@code repo} and flips a bit in the middle of its archived object; returns the object. */
    private static Path pushAndDamageTheBody(Path repo, String seg) throws Exception {
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path object = archivedObject(repo, seg);
        byte[] body = Files.readAllBytes(object);
        body[body.length / 2] ^= 0x01;
        Files.write(object, body);
        return object;
    }

    private static Path archivedObject(Path repo, String name) throws Exception {
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            return s.filter(p -> p.getFileName().toString().equals(name)).findFirst().orElseThrow();
        }
    }

    /**
     * An archived object replaced by another segment's object (copied or renamed in the store)
     * passes its own checksum; PostgreSQL would take the wrong page address for the end of the
     * WAL. wal get refuses it as damaged, and verify names it.
     */
    @Test
    void getOfAnotherSegmentsContentUnderASegmentsName_isDamaged_andVerifyNamesIt() throws Exception {
        Path repo = newRepo("repo-swapped");
        String first = segments.get(0);
        String second = segments.get(1);
        for (String s : List.of(first, second)) {
            assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(s).toString()).code()).isZero();
        }
        Path firstObject;
        Path secondObject;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            List<Path> all = s.filter(Files::isRegularFile).toList();
            firstObject = all.stream().filter(p -> p.getFileName().toString().equals(first)).findFirst().orElseThrow();
            secondObject = all.stream().filter(p -> p.getFileName().toString().equals(second)).findFirst().orElseThrow();
        }
        Files.copy(firstObject, secondObject, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Run r = lean("wal", "get", "--repo", repo.toString(), second, dir.resolve("swapped-out").toString());
        assertThat(r.code()).isEqualTo(LeanWal.GET_DAMAGED);
        assertThat(r.err()).contains("archived WAL " + second + " is damaged").contains("not the start of " + second);
        assertThat(dir.resolve("swapped-out")).doesNotExist();
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems())
                .anySatisfy(p -> assertThat(p).contains("archived WAL " + second).contains("not the start of"));
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
            List<String> cmd = org.pgstrata.ChildJava.command();
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.pgstrata.cli.Main", "wal", "push", "--repo", each.toString(),
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

    /** {@code wal push --no-batch FILE} in a child JVM, as archive_command runs it; stderr and stdout together. */
    private static Process pushInChild(List<String> repoArgs, Path file) throws Exception {
        List<String> cmd = org.pgstrata.ChildJava.command();
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.pgstrata.cli.Main", "wal", "push"));
        cmd.addAll(repoArgs);
        cmd.addAll(List.of("--no-batch", file.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(org.pgstrata.storage.s3.S3Server.environment());
        return pb.start();
    }

    /** What one racing push said: its exit code and output, and which copy it offered. */
    private record Pushed(int code, String output, byte[] offered) {
    }

    /**
     * Two pushes of different content under one name, started together in two processes, round
     * after round on a fresh repository each time: however they interleave, one archives its copy
     * and the other is refused with exit 23; the archive holds one object, wal get returns the
     * winner's bytes, and verify is clean.
     */
    private static void raceTwoPushes(int rounds, java.util.function.IntFunction<String> newRepo,
                                      java.util.function.Function<String, List<String>> archiveKeys) throws Exception {
        String seg = segments.get(1);
        byte[] original = Files.readAllBytes(walDir.resolve(seg));
        byte[] other = original.clone();
        other[other.length / 2] ^= 0x55; // same name and header (same cluster), different bytes further in
        Path a = Files.createDirectories(dir.resolve("race-a/pg_wal")).resolve(seg);
        Path b = Files.createDirectories(dir.resolve("race-b/pg_wal")).resolve(seg);
        Files.write(a, original);
        Files.write(b, other);
        for (int round = 0; round < rounds; round++) {
            String repo = newRepo.apply(round);
            List<String> repoArgs = org.pgstrata.storage.StorageFactory.arguments(repo);
            Process pa = pushInChild(repoArgs, a);
            Process pb = pushInChild(repoArgs, b);
            List<Pushed> results = new ArrayList<>();
            for (Object[] p : new Object[][] {{pa, original}, {pb, other}}) {
                Process proc = (Process) p[0];
                String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(proc.waitFor(120, TimeUnit.SECONDS)).isTrue();
                results.add(new Pushed(proc.exitValue(), out, (byte[]) p[1]));
            }
            String said = "round " + round + ": " + results.get(0).code() + " [" + results.get(0).output().strip() + "], "
                    + results.get(1).code() + " [" + results.get(1).output().strip() + "]";
            List<Pushed> won = results.stream().filter(r -> r.code() == 0).toList();
            List<Pushed> lost = results.stream().filter(r -> r.code() != 0).toList();
            assertThat(won).as(said).hasSize(1);
            assertThat(lost).as(said).hasSize(1);
            assertThat(lost.get(0).code()).as(said).isEqualTo(ErrorCode.WAL_CONFLICT.exitCode());
            assertThat(lost.get(0).output().strip().lines()).as(said).hasSize(1);
            assertThat(lost.get(0).output()).as(said).startsWith("pgstrata: error: the archive already holds " + seg + " with different content")
                    .contains("hint: ");
            assertThat(archiveKeys.apply(repo)).as(said + ": one object for one name").hasSize(1);
            Path out = dir.resolve("race-out-" + round);
            Run got = lean(concat(List.of("wal", "get"), repoArgs, List.of(seg, out.toString())));
            assertThat(got.code()).as(got.err()).isZero();
            assertThat(Files.readAllBytes(out)).as(said + ": wal get returns the winner's copy").isEqualTo(won.get(0).offered());
            CliRun verify = CliRun.run(concat(List.of("verify"), repoArgs, List.of()));
            assertThat(verify.exitCode()).as(said + ": " + verify.out() + verify.err()).isZero();
        }
    }

    private static String[] concat(List<String> a, List<String> b, List<String> c) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        all.addAll(c);
        return all.toArray(String[]::new);
    }

    /** The archive's objects in a directory repository (what a listing shows; temporary files are not objects). */
    private static List<String> filesUnder(Path repo) {
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            return s.filter(Files::isRegularFile).map(p -> repo.relativize(p).toString()).filter(k -> !k.endsWith(".pgstrata-tmp")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void twoConcurrentPushesOfDifferentContentUnderOneName_oneIsArchived_theOtherExits23_onADirectory() throws Exception {
        raceTwoPushes(25, round -> newRepo("repo-race-" + round).toString(), repo -> filesUnder(Path.of(repo)));
    }

    @Test
    void twoConcurrentPushesOfDifferentContentUnderOneName_oneIsArchived_theOtherExits23_onS3() throws Exception {
        try (org.pgstrata.storage.s3.S3Server s3 = org.pgstrata.storage.s3.S3Server.inMemory()) {
            s3.createBucket("race");
            raceTwoPushes(8, round -> {
                String location = s3.location("race", "round-" + round);
                PgSupport.facade().repoInit(location, cluster.pgdata());
                return location;
            }, repo -> {
                try (org.pgstrata.storage.Storage st = org.pgstrata.storage.StorageFactory.open(repo)) {
                    return st.list("archive/");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    /** An object as versions before name-only keys wrote it: archive/DIR/NAME-XXH64.zst, the zstd-compressed content. */
    private static void writeLegacyObject(Path repo, String name, byte[] content) throws Exception {
        Path d = Files.createDirectories(repo.resolve("archive").resolve(name.substring(0, 16)));
        Files.write(d.resolve(name + "-" + org.pgstrata.manifest.Checksum.of(content) + ".zst"), com.github.luben.zstd.Zstd.compress(content));
    }

    @Test
    void aLegacyObject_isStillRead_andCountsAsArchived() throws Exception {
        Path repo = newRepo("repo-legacy");
        String seg = segments.get(0);
        byte[] original = Files.readAllBytes(walDir.resolve(seg));
        writeLegacyObject(repo, seg, original);
        Path out = dir.resolve("legacy-out");
        assertThat(lean("wal", "get", "--repo", repo.toString(), seg, out.toString()).code()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(original);
        // The same content again is archived already; other content under that name is a conflict. No second object either way.
        assertThat(lean("wal", "push", "--repo", repo.toString(), "--no-batch", walDir.resolve(seg).toString()).code()).isZero();
        Path other = Files.createDirectories(dir.resolve("legacy-other/pg_wal")).resolve(seg);
        byte[] bytes = original.clone();
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(other, bytes);
        Run r = lean("wal", "push", "--repo", repo.toString(), "--no-batch", other.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(ErrorCode.WAL_CONFLICT.exitCode());
        assertThat(filesUnder(repo)).hasSize(1);
        assertThat(CliRun.run("verify", "--repo", repo.toString()).exitCode()).isZero();
    }

    @Test
    void twoArchivedCopiesOfOneName_withDifferentContent_areNamedByVerify_andWalGetRefusesToChoose() throws Exception {
        // What two racing pushes of earlier versions could leave: two objects for one name.
        Path repo = newRepo("repo-duplicate");
        String seg = segments.get(2);
        byte[] original = Files.readAllBytes(walDir.resolve(seg));
        byte[] other = original.clone();
        other[other.length / 2] ^= 0x55;
        writeLegacyObject(repo, seg, original);
        writeLegacyObject(repo, seg, other);
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out()).contains("problem: archived WAL " + seg + ": ")
                .contains(seg + "-" + org.pgstrata.manifest.Checksum.of(original)).contains(seg + "-" + org.pgstrata.manifest.Checksum.of(other));
        Path out = dir.resolve("duplicate-out");
        Run got = lean("wal", "get", "--repo", repo.toString(), seg, out.toString());
        // Above 125: recovery stops here rather than replay a copy nobody can vouch for.
        assertThat(got.code()).as(got.err()).isGreaterThan(125);
        assertThat(got.err().strip().lines()).hasSize(1);
        assertThat(got.err()).contains(seg).contains("hint: ");
        assertThat(out).doesNotExist();
    }

    @Test
    void anArchivedSegmentOfAnotherSystem_isRefusedByWalGet_andNamedByVerify() throws Exception {
        Path repo = newRepo("repo-foreign");
        String seg = segments.get(0);
        byte[] foreign = Files.readAllBytes(walDir.resolve(seg));
        // xlp_sysid, bytes 24..31 of the segment's long page header: another cluster's identifier.
        java.nio.ByteBuffer.wrap(foreign).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(24, 7_000_000_000_000_000_001L);
        // In by a way that checks nothing (wal push refuses it): an archive copied from elsewhere, a hand-made repair.
        try (org.pgstrata.storage.Storage st = new org.pgstrata.storage.fs.FileStorage(repo)) {
            new org.pgstrata.manifest.WalArchive(st).put(seg, foreign, org.pgstrata.api.Compression.ZSTD);
        }
        Path out = dir.resolve("foreign-out");
        Run got = lean("wal", "get", "--repo", repo.toString(), seg, out.toString());
        assertThat(got.code()).as(got.err()).isGreaterThan(125);
        assertThat(got.err().strip().lines()).hasSize(1);
        assertThat(got.err()).contains(seg).contains("7000000000000000001").contains("hint: ");
        assertThat(out).doesNotExist();
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out()).contains("problem: archived WAL " + seg + ": ").contains("7000000000000000001");
    }

    @Test
    void aStoreWithoutConditionalWrites_isRefusedAsARepository_andVerifyNamesIt() throws Exception {
        try (org.pgstrata.storage.s3.S3Server plain = org.pgstrata.storage.s3.S3Server.inMemoryWithoutConditionalWrites()) {
            plain.createBucket("plain");
            List<String> repoArgs = plain.arguments("plain", "repo");
            CliRun init = CliRun.run(concat(List.of("repo", "init"), repoArgs, List.of("--pgdata", cluster.pgdata().toString())));
            assertThat(init.exitCode()).as(init.err()).isEqualTo(ErrorCode.NO_CONDITIONAL_WRITES.exitCode());
            assertThat(init.errLines()).hasSize(1);
            assertThat(init.errLines().get(0)).startsWith("pgstrata: error: repository s3://plain/repo was not created")
                    .contains("does not support conditional writes").contains("hint: ");
            try (org.pgstrata.storage.Storage st = org.pgstrata.storage.StorageFactory.open(plain.location("plain", "repo"))) {
                assertThat(st.list("")).as("nothing was left").isEmpty();
                // A repository made on it some other way (by an earlier version, or copied in): verify says what is wrong.
                st.putBytes("repo.json", Files.readAllBytes(newRepo("repo-for-plain").resolve("repo.json")));
            }
            CliRun verify = CliRun.run(concat(List.of("verify"), repoArgs, List.of()));
            assertThat(verify.exitCode()).as(verify.out()).isEqualTo(ErrorCode.CORRUPT.exitCode());
            assertThat(verify.out()).contains("problem: the store cannot be shown to refuse a second write of one key")
                    .contains("does not support conditional writes");
        }
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
