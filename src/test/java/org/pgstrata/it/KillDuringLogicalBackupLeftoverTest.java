package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A logical backup killed with SIGKILL while pg_dump's output streamed into the repository left
 * its directory logical/ID/ (with the half-written object in it): the next logical backup removed
 * the half-written file but kept the directory, empty, for good, and expire neither removed nor
 * named it (its leftovers, a dry run's too, were physical backups' only).
 */
class KillDuringLogicalBackupLeftoverTest extends PgTest {

    @Test
    void logicalBackupKilledDuringTheDump_expireNamesAndRemovesItsDirectory_asDoesTheNextBackup() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        // no primary key, so no key index: killed during the dump, its directory holds only the dump's half-written file
        LogicalSupport.sql(source, "shop", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        Path repo = dir.resolve("repo");
        String kept = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();

        // The next backup in the killed one's second (removing the leftover frees its id, which it then takes) and in a later
        // second, each forced with a clock: which of the two a run met was up to the machine, and only CI took the first
        for (String next : new String[] {"backup-same-second", "backup-next-second", "expire"}) {
            String killed = killDuringTheDump(source, repo, next);
            assertThat(repo.resolve("logical").resolve(killed)).as("what the killed backup left").exists();
            if (next.equals("expire")) {
                JsonNode dry = CliBackups.run("expire", "--json", "--repo", repo.toString(), "--retain-logical", "5", "--dry-run");
                assertThat(dry.get("leftovers").toString()).as("expire --dry-run's leftovers").contains(killed);
                assertThat(repo.resolve("logical").resolve(killed)).exists();
                CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-logical", "5");
                assertThat(r.exitCode()).as(r.err()).isZero();
                assertThat(r.out() + r.err()).contains(killed);
            } else {
                Instant killedSecond = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
                        .parse(killed.substring(0, 15), Instant::from);
                boolean sameSecond = next.equals("backup-same-second");
                String id = new Pgstrata(Clock.fixed(killedSecond.plusSeconds(sameSecond ? 0 : 1), ZoneOffset.UTC), Progress.NONE, PgSupport.env())
                        .logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(source, "shop"), BackupType.FULL,
                                Compression.ZSTD, 1, null)).id();
                if (sameSecond) {
                    // Its directory then holds that backup alone, none of the killed one's half-written files
                    assertThat(id).isEqualTo(killed);
                    try (Stream<Path> files = Files.list(repo.resolve("logical").resolve(killed))) {
                        assertThat(files.map(p -> p.getFileName().toString()).sorted()).containsExactly("dump.zst", "end", "manifest");
                    }
                    continue;
                }
                assertThat(id).isNotEqualTo(killed);
            }
            assertThat(repo.resolve("logical").resolve(killed)).as("logical/" + killed + " after the next " + next).doesNotExist();
        }
        assertThat(repo.resolve("logical").resolve(kept).resolve("manifest")).exists();
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).doesNotContain("incomplete").doesNotContain("unfinished");
    }

    /** Starts a logical full whose pg_dump writes part of its archive and then hangs, kills it there; returns its backup's id. */
    private String killDuringTheDump(LocalCluster source, Path repo, String name) throws Exception {
        Path real = LogicalSupport.pgDump().program();
        Path bin = Files.createDirectories(dir.resolve("bin-" + name));
        Path fifo = dir.resolve("never-" + name);
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path marker = dir.resolve("dumping-" + name);
        Files.writeString(bin.resolve("pg_dump"), "#!/bin/bash\n"
                + "case \" $* \" in *' --version '*) exec '" + real + "' \"$@\" ;; esac\n"
                + "'" + real + "' \"$@\" | head -c 1000\n"
                + "touch '" + marker + "'; read -t 120 <> '" + fifo + "'; exit 1\n");
        Files.setPosixFilePermissions(bin.resolve("pg_dump"), PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> before = ids(repo);
        Process child = ChildCli.start(Map.of(), List.of(), "backup", "--logical", "--repo", repo.toString(), "--port",
                CliBackups.port(source), "--dbname", "shop", "--pg-bin", bin.toString());
        try {
            for (int i = 0; i < 1200 && !Files.exists(marker) && child.isAlive(); i++) {
                Thread.sleep(100);
            }
            assertThat(marker).exists();
            Thread.sleep(300); // the first bytes reach the repository
        } finally {
            List<ProcessHandle> wrappers = child.descendants().toList();
            ChildCli.kill(child);
            wrappers.forEach(ProcessHandle::destroyForcibly);
        }
        assertThat(child.exitValue()).isEqualTo(137);
        List<String> after = ids(repo);
        after.removeAll(before);
        assertThat(after).as("the killed backup's directory").hasSize(1);
        return after.get(0);
    }

    private static List<String> ids(Path repo) throws Exception {
        try (Stream<Path> s = Files.list(repo.resolve("logical"))) {
            return new java.util.ArrayList<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }
}
