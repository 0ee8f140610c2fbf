package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * Readers take no lock: a copy restored from the older full recovers with pgstrata's own
 * restore_command while {@code expire --retain-full 1} removes that full and the WAL before the
 * newer one. The segment recovery asks for next is then gone; answered "not in the archive"
 * (exit 1), PostgreSQL took it for the end of the archive and promoted the copy read-write at the
 * older full's consistency point, silently, far short of the end of the archive. wal get must
 * refuse it (above 125) so that recovery stops, and say that expire removed it.
 */
class ExpireDuringRecoveryTest extends PgTest {

    @Test
    void expireWhileACopyRecoversFromTheRemovedFull_stopsRecovery_neverPromotesInThePast() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 3_000, 1_000);
        com.fasterxml.jackson.databind.JsonNode b1 = CliBackups.backup(repo, src, "full");
        String f1 = b1.get("id").asText();
        String f1Stop = b1.get("stopLsn").asText();
        for (int seed = 1; seed <= 2; seed++) {
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 100, 300, 50, seed);
                Db.execute(c, "SELECT pg_switch_wal()");
            }
        }
        String f2 = CliBackups.backupId(repo, src, "full");
        ContentChecksum.Result end;
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 300, 50, 9);
            end = ContentChecksum.compute(c);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        String heldFrom = PgSupport.queryString(src, "SELECT pg_walfile_name('" + f1Stop + "')");

        // The older full, to the end of the archive; started by hand, as a copy made earlier would be.
        Path copy = dir.resolve("copy");
        String asked = CliBackups.ok("restore", "-q", "--json", "--repo", repo.toString(), "--backup", f1, "--target", "latest", "--to",
                copy.toString(), "--port", Integer.toString(LocalCluster.freePort())).out();
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(asked).path("reason").asText())
                .as("the older full is the one asked for, not the newest").startsWith("restoring backup " + f1 + " (as asked) and replaying");
        // pgstrata's own restore_command, behind a wrapper that holds the first fetch past the backup's end until expire has run
        Path reached = dir.resolve("reached");
        Path go = dir.resolve("go");
        Path hold = dir.resolve("hold.sh");
        Files.writeString(hold, "#!/bin/sh\n"
                + "case \"$1\" in ????????????????????????) if [ \"$1\" \\> \"" + heldFrom + "\" ]; then\n"
                + "  touch '" + reached + "'; while [ ! -e '" + go + "' ]; do sleep 0.1; done; fi;; esac\n"
                + "shift\nexec \"$@\"\n");
        Files.setPosixFilePermissions(hold, PosixFilePermissions.fromString("rwx------"));
        Path auto = copy.resolve("postgresql.auto.conf");
        String restoreCommand = Files.readAllLines(auto).stream().filter(l -> l.startsWith("restore_command = '")).reduce((a, b) -> b)
                .orElseThrow().substring("restore_command = '".length());
        Files.writeString(auto, "restore_command = '" + hold + " %f " + restoreCommand + "\n", java.nio.file.StandardOpenOption.APPEND);

        LocalCluster copyCluster = pg.track(new LocalCluster(copy, PgBinaries.resolve(null, 17, PgSupport.env())));
        CompletableFuture<Throwable> started = CompletableFuture.supplyAsync(() -> {
            try {
                copyCluster.start();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        for (int i = 0; i < 300 && !Files.exists(reached); i++) {
            Thread.sleep(100);
        }
        assertThat(reached).as("recovery fetches WAL past the backup's end").exists();

        byte[] f1Manifest = Files.readAllBytes(repo.resolve("backup").resolve(f1).resolve("manifest"));
        CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(expire.out()).contains("removed " + f1).contains("kept 1 backup(s)");
        Files.writeString(go, "");
        Throwable failed = started.get(60, TimeUnit.SECONDS);

        String log = Files.readString(copy.resolve(LocalCluster.LOG_FILE));
        if (failed == null) {
            // What the defect did: the copy came up read-write, at the older full's point, not at the end of the archive.
            try (Connection c = PgSupport.connect(copyCluster)) {
                for (int i = 0; i < 100 && "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()")); i++) {
                    Thread.sleep(100); // it promotes right after it took the missing segment for the end of the archive
                }
                org.assertj.core.api.Assertions.fail("recovery went on after expire removed the WAL it needed: the copy came up (in recovery: "
                        + Db.queryString(c, "SELECT pg_is_in_recovery()") + ", timeline " + Db.queryString(c,
                        "SELECT timeline_id FROM pg_control_checkpoint()") + ") with content " + ContentChecksum.compute(c)
                        + ", not the end of the archive's " + end);
            }
        }
        assertThat(failed).as("the copy's start, after expire removed WAL it still needed").isNotNull();
        assertThat(log).contains("was removed by expire").contains("keeps WAL from").contains("backup " + f2)
                .contains("exit code 128").doesNotContain("selected new timeline ID").doesNotContain("archive recovery complete");
        assertThat(copy.resolve("pg_wal/00000002.history")).doesNotExist();

        // wal get, as PostgreSQL runs it, says so itself in one line: a segment before the mark was removed (128); one after
        // the end is not there yet (1).
        Path out = dir.resolve("fetched");
        ChildCli.Finished removed = ChildCli.run(java.util.Map.of(), java.util.List.of(), 30, "wal", "get", "--repo", repo.toString(),
                heldFrom, out.toString());
        assertThat(removed.exitCode()).as(removed.output()).isEqualTo(128);
        assertThat(removed.output().strip().lines()).hasSize(1);
        assertThat(removed.output()).startsWith("pgstrata: error: archived WAL " + heldFrom + " was removed by expire")
                .contains("; hint: restore backup " + f2 + " or a newer one");
        ChildCli.Finished notYet = ChildCli.run(java.util.Map.of(), java.util.List.of(), 30, "wal", "get", "--repo", repo.toString(),
                "0000000100000000000000FF", out.toString());
        assertThat(notYet.exitCode()).as(notYet.output()).isEqualTo(1);

        // A restore that read the catalogue while the full was still there, planning after its WAL went (its manifest put back
        // to stand for that moment): refused before anything is written, saying why.
        Files.createDirectories(repo.resolve("backup").resolve(f1));
        Files.write(repo.resolve("backup").resolve(f1).resolve("manifest"), f1Manifest);
        Path late = dir.resolve("late");
        CliRun refused = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", f1, "--target", "latest", "--to", late.toString());
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(35);
        assertThat(refused.errLines()).hasSize(1);
        assertThat(refused.err()).startsWith("pgstrata: error: WAL segment ").contains("was removed by expire").contains("; hint: ");
        assertThat(late).doesNotExist();
        PgSupport.deleteTree(repo.resolve("backup").resolve(f1));

        // And a restore of what is left reaches the end of the archive.
        CliBackups.Restored latest = CliBackups.restore(pg, repo, dir.resolve("latest"), 17, "--target", "latest");
        try (Connection c = PgSupport.connect(latest.cluster())) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(end);
        }
    }
}
