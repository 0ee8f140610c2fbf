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
 * A logical backup directory left empty was invisible: verify did not name it, and neither the
 * next logical backup nor expire removed it, so it stayed for good. A killed logical backup leaves
 * one when killed between making its directory and its first file, and also, more often, when it
 * left only a half-written file there and a physical backup then removed that file (its clean-up
 * of half-written files removes them, not the directory). It is now what a directory with files and
 * no manifest is: incomplete for verify, removed by the next logical backup and by expire.
 */
class LogicalEmptyDirectoryLeftoverTest extends PgTest {

    @Test
    void anEmptyLogicalBackupDirectory_isNamedByVerify_andRemovedByExpireAndTheNextLogicalBackup() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        String kept = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();

        // What a logical backup killed while writing its first file leaves: that half-written file alone. A physical backup
        // removes half-written files, and so leaves the directory empty.
        String killed = "20200101-000000LF";
        Path leftover = repo.resolve("logical").resolve(killed);
        Files.createDirectories(leftover);
        Files.writeString(leftover.resolve("dump.zst.4242.1.pgstrata-tmp"), "half");
        CliBackups.backup(repo, source, "full");
        assertThat(leftover).as("what the physical backup left of logical/" + killed).isEmptyDirectory();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("incomplete backup (no manifest").contains(killed);
        assertThat(CliBackups.run("verify", "--json", "--repo", repo.toString()).get("incomplete").toString()).contains(killed);

        JsonNode dry = CliBackups.run("expire", "--json", "--repo", repo.toString(), "--retain-logical", "5", "--dry-run");
        assertThat(dry.get("leftovers").toString()).as("expire --dry-run's leftovers").contains(killed);
        assertThat(leftover).exists();
        CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-logical", "5");
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(expire.out() + expire.err()).contains(killed);
        assertThat(leftover).as("logical/" + killed + " after expire").doesNotExist();

        // Killed between making the directory and its first file: the next logical backup removes it.
        Files.createDirectories(leftover);
        String next = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        assertThat(leftover).as("logical/" + killed + " after the next logical backup").doesNotExist();
        try (Stream<Path> s = Files.list(repo.resolve("logical"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(kept, next);
        }
        verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).doesNotContain("incomplete");
    }
}
