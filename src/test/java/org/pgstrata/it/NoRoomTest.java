package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * No room to write: a repository, a pg_wal or a temporary directory that cannot take what a
 * command writes. Each command says so in one line, naming where (exit 22, or for wal get the
 * status PostgreSQL reads as an error), leaves nothing cut behind, and loses nothing; expire and
 * delete, which free space, still run. The room runs out through RLIMIT_FSIZE (ulimit -f) in a
 * child JVM, which fails a write past the limit as a full file system does (a short write, then
 * an error), and through a temporary directory that is not a directory; no file system of its own.
 */
class NoRoomTest extends PgTest {

    @Test
    void eachCommand_saysItHasNoRoom_inOneLine_andLosesNothing() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g", "CHECKPOINT");
        Path repo = dir.resolve("repo");
        String[] full = {"backup", "-q", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source),
            "--type", "full"};
        String[] incr = full.clone();
        incr[incr.length - 1] = "incr";

        // A backup into a repository that takes no object over 256 KiB: one line naming the object's file; nothing listed
        ChildCli.Finished cut = ChildCli.run(Map.of(), List.of(), 256, 180, full);
        assertOneLine(cut, 22, "File too large");
        assertThat(errorLine(cut)).contains(repo.toString());
        assertThat(PgSupport.facade().list(repo.toString())).isEmpty();
        String first = CliBackups.backupId(repo, source, "full");
        String second = CliBackups.backupId(repo, source, "full");
        assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();

        // expire where not one more block can be written: the lock goes without its holder's name, and expire frees space
        ChildCli.Finished expire = ChildCli.run(Map.of(), List.of(), 0, 180, "expire", "-q", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(expire.exitCode()).as(expire.output()).isZero();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(second);

        // A block map spilled to a temporary directory that takes nothing: an I/O error naming it, not a damaged backup (15)
        PgSupport.sql(source, "UPDATE t SET v = md5(v) WHERE id % 10 = 0", "CHECKPOINT");
        Path notADirectory = Files.writeString(dir.resolve("not-a-directory"), "");
        List<String> spill = new ArrayList<>(org.pgstrata.api.Self.nativeLibraryOptions());
        spill.addAll(List.of("-Djava.io.tmpdir=" + notADirectory.resolve("tmp"), "-Dpgstrata.blockmap.heapBytes=0"));
        for (String[] args : List.of(incr, new String[] {"verify", "-q", "--repo", repo.toString()})) {
            ChildCli.Finished r = ChildCli.run(Map.of(), spill, 180, args);
            assertOneLine(r, 22, "block map");
            assertThat(errorLine(r)).contains(notADirectory.toString()).doesNotContain("damaged");
        }
        // The compression library, with neither such a temporary directory nor a cache that can take it: one line, no stack trace
        ChildCli.Finished noLibrary = ChildCli.runWithoutNativeCache(Map.of("PGSTRATA_CACHE", notADirectory.resolve("cache").toString()),
                List.of("-Djava.io.tmpdir=" + notADirectory.resolve("tmp")), 180, incr);
        assertOneLine(noLibrary, 22, "cannot load the compression library");
        assertThat(errorLine(noLibrary)).contains("Cannot unpack").contains(notADirectory.toString());
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(second);
        assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();

        // wal get into a pg_wal that takes 1 MiB of a 16 MiB segment: an error, and no cut segment left for recovery to read
        String segment;
        try (Connection c = PgSupport.connect(source)) {
            segment = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        Path staging = Files.createDirectories(dir.resolve("staging/pg_wal"));
        Files.createDirectories(staging.resolve("archive_status"));
        Files.copy(source.pgdata().resolve("pg_wal").resolve(segment), staging.resolve(segment));
        ChildCli.Finished push = ChildCli.run(Map.of(), List.of(), 180, "wal", "push", "--repo", repo.toString(), staging.resolve(segment).toString());
        assertThat(push.exitCode()).as(push.output()).isZero();
        Path walDir = Files.createDirectories(dir.resolve("restored-pg_wal"));
        ChildCli.Finished get = ChildCli.run(Map.of(), List.of(), 1024, 180, "wal", "get", "--repo", repo.toString(), segment,
                walDir.resolve("RECOVERYXLOG").toString());
        assertThat(get.exitCode()).as(get.output()).isNotIn(0, 1);
        assertThat(get.output().strip().lines()).as(get.output()).hasSize(1);
        assertThat(get.output()).contains("File too large").contains(walDir.toString());
        try (var left = Files.list(walDir)) {
            assertThat(left.toList()).as("what wal get left").isEmpty();
        }
        ChildCli.Finished again = ChildCli.run(Map.of(), List.of(), 180, "wal", "get", "--repo", repo.toString(), segment,
                walDir.resolve("RECOVERYXLOG").toString());
        assertThat(again.exitCode()).as(again.output()).isZero();
        assertThat(Files.readAllBytes(walDir.resolve("RECOVERYXLOG"))).isEqualTo(Files.readAllBytes(staging.resolve(segment)));
    }

    private static String errorLine(ChildCli.Finished r) {
        return r.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).findFirst().orElse("");
    }

    private static void assertOneLine(ChildCli.Finished r, int exit, String says) {
        assertThat(r.output()).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception in thread");
        assertThat(r.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(r.output()).singleElement().asString()
                .contains(says).contains("; hint: ");
        assertThat(r.exitCode()).as(r.output()).isEqualTo(exit);
    }
}
