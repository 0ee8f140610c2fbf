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
 * A logical backup whose manifest was lost (deleted by hand, a half-done copy of the repository)
 * while its dump is still there vanished from list, and verify said nothing of it: its
 * "incomplete backups" were physical backups' only. verify names it, as it names a physical
 * backup directory without a manifest; one whose manifest is damaged is a problem, as before.
 */
class LogicalManifestLostVerifyTest extends PgTest {

    @Test
    void aLogicalBackupWithoutItsManifest_isNamedByVerify() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String lost = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String damaged = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        String intact = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        Files.delete(repo.resolve("logical").resolve(lost).resolve("manifest"));
        assertThat(repo.resolve("logical").resolve(lost).resolve("dump.zst")).as("the lost backup's dump").exists();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("incomplete backup (no manifest").contains(lost).doesNotContain(intact);
        JsonNode json = CliBackups.run("verify", "--json", "--repo", repo.toString());
        assertThat(json.get("incomplete").toString()).contains(lost);

        try (FileChannel ch = FileChannel.open(repo.resolve("logical").resolve(damaged).resolve("manifest"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 1, 2, 3}), 40);
        }
        verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(15);
        assertThat(verify.out()).contains("problem: logical backup " + damaged).contains("incomplete backup (no manifest").contains(lost);
        CliRun list = CliRun.run("list", "--repo", repo.toString());
        assertThat(list.out()).contains(damaged).contains("DAMAGED").contains(intact);
        assertThat(list.err()).contains("1 backup(s)").contains("cannot be read");
    }
}
