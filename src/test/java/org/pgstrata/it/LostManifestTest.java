package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;

/**
 * A complete backup whose manifest is lost (deleted by hand, a disk's damage) looked like what a
 * killed backup leaves: verify said "0 problems", a restore without --backup silently restored the
 * older backup instead, and the next backup removed the rest of the directory as a leftover, so
 * that putting the manifest back from a copy no longer helped. The directory holds the block map
 * that a backup writes just before its manifest: it is now a damaged backup, named by verify
 * (exit 15) and kept by backup; the manifest put back restores it, proven by content, and delete
 * removes it on request.
 */
class LostManifestTest extends PgTest {

    @Test
    void aBackupThatLostItsManifest_isDamaged_andKept_untilItIsPutBackOrDeleted() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks SELECT generate_series(1, 1000)");
        String fullId = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "UPDATE marks SET n = n + 1 WHERE n % 3 = 0", "CHECKPOINT");
        String lostId = CliBackups.backupId(repo, src, "incr");
        Map<String, ContentChecksum.Result> atLost = ClusterContent.of(src);
        Path manifest = repo.resolve("backup").resolve(lostId).resolve("manifest");
        byte[] saved = Files.readAllBytes(manifest);
        Files.delete(manifest);

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out() + verify.err()).contains("manifest of backup " + lostId + " is missing").doesNotContain("incomplete backup");

        // Not the older backup in its place: the newest cannot be told while a manifest is missing.
        CliRun latest = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("latest").toString());
        assertThat(latest.exitCode()).as(latest.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(dir.resolve("latest")).doesNotExist();
        CliRun named = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", lostId, "--to", dir.resolve("named").toString());
        assertThat(named.exitCode()).as(named.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(named.errLines()).singleElement().asString().contains(lostId).contains("is missing").contains("pgstrata delete");

        // The next full backup keeps it: no leftover of a killed run.
        PgSupport.sql(src, "INSERT INTO marks VALUES (-1)");
        CliRun full = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "-p", CliBackups.port(src),
                "--type", "full");
        assertThat(full.exitCode()).as(full.err()).isZero();
        assertThat(full.err()).doesNotContain("removing incomplete backup");
        CliRun list = CliRun.run("list", "--repo", repo.toString());
        assertThat(list.out() + list.err()).contains(lostId);
        // So does a delete of another backup (nobody can tell which objects the damaged one reads), before it says it removes one
        // (a child, whose progress lines are captured with its error)
        ChildCli.Finished other = ChildCli.run(Map.of(), List.of(), 120, "delete", "--repo", repo.toString(), "--backup", fullId);
        assertThat(other.exitCode()).as(other.output()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(other.output().lines().filter(l -> !l.isBlank())).as(other.output()).singleElement().asString()
                .contains("nothing was removed").contains(lostId);
        assertThat(repo.resolve("backup").resolve(fullId).resolve("manifest")).exists();
        // A differential refuses too: the damaged backup may be a newer full, which nobody can tell without its manifest.
        CliRun diff = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "-p", CliBackups.port(src),
                "--type", "diff");
        assertThat(diff.exitCode()).as(diff.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(diff.errLines()).first().asString().contains("cannot choose the backup a differential builds on").contains(lostId);

        // Put back, it restores what it held.
        Files.write(manifest, saved);
        CliRun again = CliRun.run("verify", "--repo", repo.toString());
        assertThat(again.exitCode()).as(again.out() + again.err()).isZero();
        CliBackups.Restored restored = CliBackups.restore(pg, repo, dir.resolve("restored"), 17, "--backup", lostId);
        assertThat(ClusterContent.proof(restored.cluster())).isEqualTo(atLost).isNotEqualTo(ClusterContent.of(src));

        // Lost again, delete removes what is left of it.
        Files.delete(manifest);
        CliRun delete = CliRun.run("delete", "-q", "--repo", repo.toString(), "--backup", lostId);
        assertThat(delete.exitCode()).as(delete.err()).isZero();
        assertThat(repo.resolve("backup").resolve(lostId)).doesNotExist();
        CliRun clean = CliRun.run("verify", "--repo", repo.toString());
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
    }

    /**
     * A backup whose manifest could not be written (a full disk, a store's refusal, the lock lost)
     * after its block map was: it failed, and leaves an ordinary leftover that the next backup
     * removes, not a backup that lost its manifest (which verify would call damaged, and which
     * would stop incrementals and expire until deleted by hand). A failed logical backup removes
     * its own directory, end mark included.
     */
    @Test
    void aBackupWhoseManifestWriteFailed_leavesALeftover_notADamagedBackup() throws Exception {
        LocalCluster src = pg.start("src", LogicalSupport.serverMajor()); // one the installed pg_dump can dump
        Path repo = dir.resolve("repo");
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks SELECT generate_series(1, 1000)");
        String kept = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "CREATE DATABASE shop");
        String keptLogical = CliBackups.logicalBackup(repo, src, "shop", "full").get("id").asText();
        Map<String, String> failing = Map.of("PGSTRATA_TEST_FAIL_AT", "manifest-write");
        ChildCli.Finished physical = ChildCli.run(failing, List.of(), 120, "backup", "-q", "--repo", repo.toString(), "--pgdata",
                src.pgdata().toString(), "--port", CliBackups.port(src), "--type", "incr");
        assertThat(physical.exitCode()).as(physical.output()).isEqualTo(ErrorCode.IO.exitCode());
        ChildCli.Finished logical = ChildCli.run(failing, List.of(), 120, "backup", "-q", "--logical", "--repo", repo.toString(), "--port",
                CliBackups.port(src), "--dbname", "shop");
        assertThat(logical.exitCode()).as(logical.output()).isEqualTo(ErrorCode.IO.exitCode());
        String failed = others(repo.resolve("backup"), kept);
        try (Stream<Path> dirs = Files.list(repo.resolve("logical"))) {
            assertThat(dirs.map(p -> p.getFileName().toString())).as("what the failed logical backup left").containsExactly(keptLogical);
        }

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("incomplete backup").contains(failed);

        // The next incremental, taken within the failed one's second: the id it asks for is the failed one's, free only once
        // the leftover is removed. Forced with a clock, as a run on a fast machine meets it by chance (and a test that asked
        // "is backup/ID gone?" then found the new backup there).
        Instant failedSecond = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).parse(failed.substring(0, 15), Instant::from);
        BackupResult next = new Pgstrata(Clock.fixed(failedSecond, ZoneOffset.UTC), Progress.NONE, PgSupport.env())
                .backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.INCR, Compression.ZSTD, 2, 0));
        assertThat(next.id()).as("the id of the failed backup, free once its leftover was removed").isEqualTo(failed);
        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactlyInAnyOrder(kept, keptLogical, failed);
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(r.incompleteBackups()).isEmpty();
        }
        CliRun after = CliRun.run("verify", "--repo", repo.toString());
        assertThat(after.exitCode()).as(after.out() + after.err()).isZero();
        assertThat(after.out()).doesNotContain("incomplete");
    }

    /** The one directory under {@code parent} that is not {@code kept}. */
    private static String others(Path parent, String kept) throws java.io.IOException {
        try (Stream<Path> dirs = Files.list(parent)) {
            return dirs.map(p -> p.getFileName().toString()).filter(id -> !id.equals(kept)).reduce((a, b) -> {
                throw new AssertionError("more than one other: " + a + ", " + b);
            }).orElseThrow();
        }
    }

    /**
     * With a backup that lost its manifest present, a killed backup's leftover made every later
     * backup fail (exit 15, "cannot tell which objects are still needed ... nothing was removed"),
     * a full too, and verify stopped on that line instead of its report: removing the leftover asks
     * what every manifest reads. Nobody can tell whether the damaged backup reads objects in that
     * directory (a reverse full reads older directories), so the leftover is kept, and the backup
     * runs; once the damaged backup is deleted, the next backup removes the leftover.
     */
    @Test
    void aKilledBackupsLeftover_doesNotStopBackups_whileABackupThatLostItsManifestIsKept() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks SELECT generate_series(1, 1000)");
        String full = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "UPDATE marks SET n = n + 1 WHERE n % 3 = 0", "CHECKPOINT");
        String lostId = CliBackups.backupId(repo, src, "incr");
        Files.delete(repo.resolve("backup").resolve(lostId).resolve("manifest"));
        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "full-objects"), List.of(), 120,
                "backup", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "--port", CliBackups.port(src), "--type", "full");
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        String left;
        try (Stream<Path> dirs = Files.list(repo.resolve("backup"))) {
            left = dirs.map(p -> p.getFileName().toString()).filter(id -> !id.equals(full) && !id.equals(lostId)).findFirst().orElseThrow();
        }

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out()).contains("manifest of backup " + lostId + " is missing");
        assertThat(verify.err()).doesNotContain("cannot tell which objects");

        PgSupport.sql(src, "INSERT INTO marks VALUES (-1)");
        Map<String, ContentChecksum.Result> atNext = ClusterContent.of(src);
        String next = CliBackups.backupId(repo, src, "full");
        assertThat(repo.resolve("backup").resolve(left)).as("kept while the damaged backup might read it").isDirectory();
        CliBackups.Restored restored = CliBackups.restore(pg, repo, dir.resolve("restored"), 17, "--backup", next);
        assertThat(ClusterContent.proof(restored.cluster())).isEqualTo(atNext);

        CliBackups.ok("delete", "-q", "--repo", repo.toString(), "--backup", lostId);
        CliBackups.ok("backup", "-q", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "-p", CliBackups.port(src), "--type", "incr");
        assertThat(repo.resolve("backup").resolve(left)).as("the leftover, once nothing damaged is left").doesNotExist();
        CliRun clean = CliRun.run("verify", "--repo", repo.toString());
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
    }
}
