package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.BlockMap;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.Envelope;
import org.pgstrata.manifest.Json;

/**
 * Invariant 9 for the reverse-delta conversion: nothing restorable becomes unrestorable. The
 * conversion decides which old pages to keep by the old full's block map; if that map lies (here
 * it is rewritten to claim the table's file is unchanged), the old pages it keeps would not
 * rebuild the old file. The conversion rebuilds each converted file before the manifest swap,
 * finds that, and keeps the old object whole: the step back still restores with its content, and
 * verify names the lying block map.
 */
class ReverseConversionProofTest extends PgTest {

    static byte[] unpack(byte[] stored) {
        return com.github.luben.zstd.Zstd.decompress(stored, (int) com.github.luben.zstd.Zstd.getFrameContentSize(stored));
    }

    @Test
    void aConversionWhoseOldPagesWouldNotRebuildTheOldFile_keepsItWhole() throws Exception {
        LocalCluster c = pg.start("c", 17);
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, repeat('a', 100) FROM generate_series(1, 20000) g",
                "VACUUM ANALYZE t", "CHECKPOINT");
        String heap = "base/" + PgSupport.queryString(c, "SELECT oid FROM pg_database WHERE datname = 'postgres'") + "/"
                + PgSupport.queryString(c, "SELECT relfilenode FROM pg_class WHERE relname = 't'");
        Path repo = dir.resolve("repo");
        String old = CliBackups.backupId(repo, c, "reverse");
        Map<String, ContentChecksum.Result> before = ClusterContent.of(c);
        PgSupport.sql(c, "UPDATE t SET v = repeat('b', 100) WHERE id % 3 = 0", "CHECKPOINT");
        Map<String, ContentChecksum.Result> after = ClusterContent.of(c);

        // The old full's block map now claims every block of t's file is what it holds now: nothing would be kept of it.
        Path manifestFile = repo.resolve("backup").resolve(old).resolve("manifest");
        ObjectNode m = (ObjectNode) Json.MAPPER.readTree(Envelope.open("m", unpack(Files.readAllBytes(manifestFile))));
        byte[] now = Files.readAllBytes(c.pgdata().resolve(heap));
        long[] lying = BlockMap.hashAll(now, now.length);
        ByteArrayOutputStream map = new ByteArrayOutputStream();
        byte[] original = Files.readAllBytes(repo.resolve("backup").resolve(old).resolve("blockmap"));
        ByteBuffer in = ByteBuffer.wrap(original);
        boolean found = false;
        for (JsonNode f : m.get("files")) {
            int blocks = (int) BlockMap.blocks(f.get("size").asLong());
            ByteBuffer out = ByteBuffer.allocate(blocks * 8);
            for (int i = 0; i < blocks; i++) {
                long h = in.getLong();
                out.putLong(f.get("path").asText().equals(heap) && i < lying.length ? lying[i] : h);
            }
            found |= f.get("path").asText().equals(heap);
            map.write(out.array());
        }
        assertThat(found).as("the table's file %s is in the manifest", heap).isTrue();
        byte[] lyingMap = map.toByteArray();
        Files.write(repo.resolve("backup").resolve(old).resolve("blockmap"), lyingMap);
        ((ObjectNode) m.get("blockMap")).put("storedChecksum", Checksum.of(lyingMap));
        Files.write(manifestFile, com.github.luben.zstd.Zstd.compress(Envelope.seal(Json.MAPPER.writeValueAsBytes(m)), 9));

        CliBackups.backupId(repo, c, "reverse");
        // The step back restores with its content: the old file was kept whole, not cut from the new one.
        Path target = dir.resolve("back");
        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--steps-back", "1", "--to", target.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(restore.exitCode()).as(restore.err()).isZero();
        LocalCluster back = pg.trackRestored(target, 17);
        assertThat(ClusterContent.of(back)).isEqualTo(before).isNotEqualTo(after);
        assertThat(ClusterContent.amcheck(back)).isEmpty();
        // verify names what is wrong: the old backup's block map, not its restore.
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).isEqualTo(15);
        assertThat(verify.out()).contains("backup " + old + ": its block map does not match its copy of " + heap)
                .doesNotContain("would not restore").doesNotContain("a restore would reject");
    }
}
