package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup directory left empty was invisible and stayed for good: no key names it, so neither
 * verify nor the next backup nor expire saw it. A backup killed between making its directory and
 * its first file leaves one; so did one killed while writing its first file, once the next backup
 * had removed that half-written file (it looked for incomplete backups first, then removed
 * half-written files). It is now an incomplete backup like one with files and no manifest.
 */
class BackupEmptyDirectoryLeftoverTest extends PgTest {
    private static final int MAJOR = LogicalSupport.serverMajor();

    @Test
    void anEmptyBackupDirectory_isNamedByVerify_andRemovedByTheNextBackupAndByExpire() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.start("source", MAJOR);
        String first = CliBackups.backupId(repo, source, "full");

        // Killed while writing its first file: that half-written file alone. The next backup leaves nothing of it.
        String killed = "20200101-000000F";
        Path leftover = repo.resolve("backup").resolve(killed);
        Files.createDirectories(leftover);
        Files.writeString(leftover.resolve("global.pg_control.4242.1.pgstrata-tmp"), "half");
        String second = CliBackups.backupId(repo, source, "incr");
        assertThat(leftover).as("backup/" + killed + " after the next backup").doesNotExist();

        // Killed between making its directory and its first file: verify names it, expire removes it.
        Files.createDirectories(leftover);
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("incomplete backup (no manifest").contains(killed);
        JsonNode dry = CliBackups.run("expire", "--json", "--repo", repo.toString(), "--retain-full", "1", "--dry-run");
        assertThat(dry.get("leftovers").toString()).as("expire --dry-run's leftovers").contains(killed);
        assertThat(leftover).exists();
        CliBackups.ok("expire", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(leftover).as("backup/" + killed + " after expire").doesNotExist();

        // And once more, for the next backup to remove.
        Files.createDirectories(leftover);
        String third = CliBackups.backupId(repo, source, "incr");
        assertThat(leftover).as("backup/" + killed + " after the next backup").doesNotExist();
        try (Stream<Path> s = Files.list(repo.resolve("backup"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(first, second, third);
        }
        verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).doesNotContain("incomplete").doesNotContain("unfinished");
    }
}
