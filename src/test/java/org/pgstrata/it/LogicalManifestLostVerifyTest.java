package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A logical backup directory without its manifest. What a killed logical backup leaves (no end
 * mark) vanished from list while verify said nothing of it: verify names it as an incomplete
 * backup, as it names a physical one. One that ran to its end and lost its manifest afterwards
 * (deleted by hand, a half-done copy of the repository) keeps the end mark written just before
 * the manifest: verify said "0 problems" of it too, and the next logical backup removed what was
 * left of it; it is now a damaged backup (exit 15), kept until its manifest is put back (then it
 * restores) or it is deleted. One whose manifest is damaged is a problem, as before.
 */
class LogicalManifestLostVerifyTest extends PgTest {

    @Test
    void aLogicalBackupWithoutItsManifest_isNamedByVerify() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String leftover = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String damaged = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String intact = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        Files.delete(repo.resolve("logical").resolve(leftover).resolve("end"));
        Files.delete(repo.resolve("logical").resolve(leftover).resolve("manifest"));
        assertThat(repo.resolve("logical").resolve(leftover).resolve("dump.zst")).as("the leftover's dump").exists();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("incomplete backup (no manifest").contains(leftover).doesNotContain(intact);
        JsonNode json = CliBackups.run("verify", "--json", "--repo", repo.toString());
        assertThat(json.get("incomplete").toString()).contains(leftover);

        try (FileChannel ch = FileChannel.open(repo.resolve("logical").resolve(damaged).resolve("manifest"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 1, 2, 3}), 40);
        }
        verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(15);
        assertThat(verify.out()).contains("problem: logical backup " + damaged).contains("incomplete backup (no manifest").contains(leftover);
        CliRun list = CliRun.run("list", "--repo", repo.toString());
        assertThat(list.out()).contains(damaged).contains("DAMAGED").contains(intact);
        assertThat(list.err()).contains("1 backup(s)").contains("cannot be read");
    }

    @Test
    void aLogicalBackupThatLostItsManifest_isDamaged_andKept_untilItIsPutBackOrDeleted() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String lost = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        var atLost = LogicalSupport.proof(source, "shop");
        Path manifest = repo.resolve("logical").resolve(lost).resolve("manifest");
        byte[] saved = Files.readAllBytes(manifest);
        Files.delete(manifest);

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(15);
        assertThat(verify.out()).contains("problem: logical backup " + lost + ": manifest of logical backup " + lost + " is missing")
                .doesNotContain("incomplete backup");
        CliRun restore = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", lost, "--to-db", "never",
                "--port", CliBackups.port(source));
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(15);
        assertThat(restore.errLines()).singleElement().asString().contains("is missing").contains("pgstrata delete");

        // The next logical backup keeps it: no leftover of a killed run.
        LogicalSupport.sql(source, "shop", "INSERT INTO t VALUES (2, 'b')");
        CliBackups.logicalBackup(repo, source, "shop", "full");
        assertThat(repo.resolve("logical").resolve(lost).resolve("dump.zst")).exists();

        // Put back, it restores what it held.
        Files.write(manifest, saved);
        CliBackups.logicalRestore(repo, source, lost, "restored");
        assertThat(LogicalSupport.proof(source, "restored")).isEqualTo(atLost).isNotEqualTo(LogicalSupport.proof(source, "shop"));

        // Lost again, delete removes what is left of it.
        Files.delete(manifest);
        CliRun delete = CliRun.run("delete", "-q", "--repo", repo.toString(), "--backup", lost);
        assertThat(delete.exitCode()).as(delete.err()).isZero();
        assertThat(repo.resolve("logical").resolve(lost)).doesNotExist();
        CliRun clean = CliRun.run("verify", "--repo", repo.toString());
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
    }

    /**
     * A logical differential lost its manifest: nobody can read which full it builds on.
     * delete --with-dependants of its full removed the full and the intact differentials and left
     * the damaged one, "kept", without the full it needs: its manifest put back from a copy no
     * longer restored it. The full is refused (exit 15, nothing removed) until the damaged one is
     * put back or deleted, as a physical full is; put back, the differential restores its content.
     */
    @Test
    void aLogicalFull_isNotRemovedUnderADifferentialThatLostItsManifest() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String full = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        LogicalSupport.sql(source, "shop", "INSERT INTO t VALUES (2, 'b')");
        String lost = CliBackups.logicalBackup(repo, source, "shop", "diff").get("id").asText();
        var atLost = LogicalSupport.proof(source, "shop");
        LogicalSupport.sql(source, "shop", "INSERT INTO t VALUES (3, 'c')");
        CliBackups.logicalBackup(repo, source, "shop", "diff");
        Path manifest = repo.resolve("logical").resolve(lost).resolve("manifest");
        byte[] saved = Files.readAllBytes(manifest);
        Files.delete(manifest);

        CliRun delete = CliRun.run("delete", "-q", "--repo", repo.toString(), "--backup", full, "--with-dependants");
        assertThat(delete.exitCode()).as(delete.err()).isEqualTo(15);
        assertThat(delete.errLines()).singleElement().asString().contains(lost).contains("nothing was removed");
        assertThat(repo.resolve("logical").resolve(full).resolve("manifest")).exists();

        Files.write(manifest, saved);
        CliBackups.logicalRestore(repo, source, lost, "restored");
        assertThat(LogicalSupport.proof(source, "restored")).isEqualTo(atLost).isNotEqualTo(LogicalSupport.proof(source, "shop"));
    }
}
