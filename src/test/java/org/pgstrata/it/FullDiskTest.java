package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A repository, and a restore target, on a file system of their own that fills ({@link SmallDisk}):
 * each failing command says so in one line with exit 22; nothing half written is listed, kept as
 * archived or claimed restored; once there is room, the next command works; and every backup and
 * WAL segment taken before restores, proven by content.
 */
class FullDiskTest extends PgTest {

    @Test
    void fullRepositoryAndTarget_failInOneLine_andLoseNothing() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir.resolve("repodisk"), 300); SmallDisk target = SmallDisk.mount(dir.resolve("targetdisk"), 300)) {
            Path repo = disk.path().resolve("repo");
            LocalCluster source = pg.archiving("source", repo);
            PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                    "INSERT INTO t SELECT g, md5(g::text) || md5((g*7)::text) FROM generate_series(1, 200000) g", "CHECKPOINT");
            PitrTest.waitForArchive(source);
            String[] full = {"backup", "-q", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source),
                "--type", "full"};
            long before = disk.room();
            String first = CliBackups.backupId(repo, source, "full");
            long size = before - disk.room();
            Map<String, ContentChecksum.Result> atFirst = ClusterContent.of(source);

            // Backups that run out of room part-way: one line, exit 22, nothing listed, the repository verifies
            PgSupport.sql(source, "UPDATE t SET v = md5(v) WHERE id % 3 = 0", "CHECKPOINT");
            for (String type : List.of("full", "incr", "reverse")) {
                disk.leave(size / 3);
                String[] args = full.clone();
                args[args.length - 1] = type;
                CliRun cut = CliRun.run(args);
                disk.free();
                assertOneLine(cut, "No space left on device");
                assertThat(cut.err()).contains(repo.toString());
                assertThat(PgSupport.facade().list(repo.toString())).as("after a %s backup with no room", type)
                        .extracting(org.pgstrata.api.BackupInfo::id).containsExactly(first);
                org.pgstrata.api.VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
                assertThat(v.ok()).as("verify after a %s backup with no room: %s %s", type, v.problems(), v.unreadable()).isTrue();
            }

            // WAL pushed into a full repository: archive_command fails, and the segment is archived whole once there is room
            // failures counted from here: the backups above, on a full disk too, made the archiver fail and then succeed
            long failedBefore = Long.parseLong(PgSupport.queryString(source, "SELECT failed_count FROM pg_stat_archiver"));
            disk.leave(0);
            for (int i = 0; i < 2; i++) {
                PgSupport.sql(source, "UPDATE t SET v = md5(v) WHERE id % 5 = " + i);
                try (Connection c = PgSupport.connect(source)) {
                    Db.execute(c, "SELECT pg_switch_wal()");
                }
            }
            String failing = null;
            for (int i = 0; i < 200 && failing == null; i++) {
                failing = PgSupport.queryString(source, "SELECT last_failed_wal FROM pg_stat_archiver WHERE failed_count > " + failedBefore);
                Thread.sleep(100);
            }
            assertThat(failing).as("archive_command fails on a full repository").isNotNull();
            CliRun push = CliRun.run("wal", "push", "--repo", repo.toString(), source.pgdata().resolve("pg_wal").resolve(failing).toString());
            assertOneLine(push, "No space left on device");
            disk.leave(1 << 20); // room for part of a segment, not all of it
            Thread.sleep(2000);
            disk.free();
            PitrTest.waitForArchive(source);
            try (Stream<Path> files = Files.walk(repo)) {
                assertThat(files.filter(p -> p.getFileName().toString().endsWith(".pgstrata-tmp")).toList()).as("half-written files").isEmpty();
            }
            assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();
            Map<String, ContentChecksum.Result> atEnd = ClusterContent.of(source);
            try (Connection c = PgSupport.connect(source)) {
                Db.execute(c, "SELECT pg_switch_wal()");
            }
            PitrTest.waitForArchive(source);

            // A restore onto a target with no room: one line, exit 22, nothing left; with room, it restores
            long restoreRoom = 20L << 20;
            target.leave(restoreRoom);
            Path to = target.path().resolve("restored");
            CliRun noRoom = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", to.toString());
            assertOneLine(noRoom, "No space left on device");
            assertThat(noRoom.err()).contains(to.toString());
            assertThat(to).doesNotExist();
            // a delta restore that runs out of room says the directory is half restored; the rerun with room finishes it
            target.free();
            CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--to", to.toString(), "--backup", first);
            // Table t's files taken away, so that the delta restore has megabytes to write back: into a directory that already
            // holds the backup it wrote next to nothing, and fit in the room left (whether it ran out of room was up to the
            // machine, and this check never ran)
            String tFile = PgSupport.queryString(source, "SELECT pg_relation_filepath('t')");
            try (Stream<Path> segments = Files.list(to.resolve(tFile).getParent())) {
                for (Path p : segments.filter(p -> p.getFileName().toString().matches(Path.of(tFile).getFileName() + "(\\.[0-9]+)?")).toList()) {
                    Files.delete(p);
                }
            }
            target.leave(1 << 20);
            PgSupport.sql(source, "CHECKPOINT");
            CliRun delta = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", to.toString(), "--delta", "--backup", first,
                    "--target", "latest");
            target.free();
            assertOneLine(delta, "No space left on device");
            assertThat(delta.err()).contains(to + " is half restored");

            // Nothing lost: the first backup restores to itself, and to the end of the archive through the segments pushed after the disk filled
            CliBackups.Restored old = CliBackups.restore(pg, repo, dir.resolve("first"), 17, "--backup", first);
            assertThat(ClusterContent.proof(old.cluster())).isEqualTo(atFirst);
            CliBackups.Restored latest = CliBackups.restore(pg, repo, to, 17, "--delta", "--backup", first, "--target", "latest");
            assertThat(ClusterContent.proof(latest.cluster())).isEqualTo(atEnd);
            // ... and the next backup works
            CliBackups.backupId(repo, source, "incr");
            pg.close(); // the servers leave the disks before they are unmounted
        }
    }

    private static void assertOneLine(CliRun r, String says) {
        assertThat(r.err()).as("no stack trace").doesNotContain("\tat ");
        assertThat(r.errLines()).as(r.err()).singleElement().asString().startsWith("pgstrata: error: ").contains(says).contains("; hint: ");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(22);
    }
}
