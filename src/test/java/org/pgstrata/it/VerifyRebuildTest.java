package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.manifest.Envelope;
import org.pgstrata.manifest.Json;

/**
 * verify proves what restore would do: it rebuilds every file through its chain. A chain damaged
 * so that every object still passes its own checks (one backup's page set swapped for another
 * valid page set of the same file, with its checksums) is only seen by a rebuild; on the main
 * branch before this test verify said "0 problems" for it and restore refused.
 */
class VerifyRebuildTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster c;
    static Path repo;
    static String full;
    static String incr1;
    static String incr2;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        c = pg.start("c", 17);
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 20_000, 5_000, 11, Progress.NONE);
        }
        repo = dir.resolve("repo");
        full = CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "UPDATE books SET price = price + 1 WHERE id % 50 = 0");
        incr1 = CliBackups.backupId(repo, c, "incr");
        PgSupport.sql(c, "UPDATE books SET price = price + 2 WHERE id % 40 = 1");
        incr2 = CliBackups.backupId(repo, c, "incr");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    static byte[] unpack(byte[] stored) {
        return com.github.luben.zstd.Zstd.decompress(stored, (int) com.github.luben.zstd.Zstd.getFrameContentSize(stored));
    }

    /** A pages entry's blocks, in whichever form its manifest holds them. */
    private static JsonNode blocks(JsonNode entry) {
        return entry.has("blocks") ? entry.get("blocks") : entry.get("blockBitmap");
    }

    @Test
    void aPageSetReplacedByAnotherValidOne_passesEveryObjectCheck_butVerifyNamesTheBackupRestoreWouldReject() throws Exception {
        Path r = dir.resolve("swapped");
        PgSupport.copyTree(repo, r);
        Path key2 = r.resolve("backup").resolve(incr2).resolve("manifest");
        Path key1 = r.resolve("backup").resolve(incr1).resolve("manifest");
        JsonNode m1 = Json.MAPPER.readTree(Envelope.open("m1", unpack(Files.readAllBytes(key1))));
        ObjectNode m2 = (ObjectNode) Json.MAPPER.readTree(Envelope.open("m2", unpack(Files.readAllBytes(key2))));
        // A relation file both incrementals store as pages: incr2's page set becomes incr1's (a valid object, with its own checksums).
        String swapped = null;
        for (JsonNode f2 : m2.get("files")) {
            if (!"pages".equals(f2.path("source").asText()) || f2.get("object") == null) {
                continue;
            }
            for (JsonNode f1 : m1.get("files")) {
                if (f1.get("path").asText().equals(f2.get("path").asText()) && "pages".equals(f1.path("source").asText())
                        && f1.get("object") != null && !blocks(f1).equals(blocks(f2))) {
                    ObjectNode o = (ObjectNode) f2;
                    o.set("object", f1.get("object"));
                    // a list of block numbers, or a bitmap (manifest format 4)
                    o.remove(List.of("blocks", "blockBitmap"));
                    o.set(f1.has("blocks") ? "blocks" : "blockBitmap", blocks(f1));
                    o.set("pagesChecksum", f1.get("pagesChecksum"));
                    o.put("reference", incr1);
                    swapped = o.get("path").asText();
                    break;
                }
            }
            if (swapped != null) {
                break;
            }
        }
        assertThat(swapped).as("a file both incrementals store as pages").isNotNull();
        byte[] body = Json.MAPPER.writeValueAsBytes(m2);
        Files.write(key2, com.github.luben.zstd.Zstd.compress(Envelope.seal(body), 9));

        CliRun verify = CliRun.run("verify", "--repo", r.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out()).contains("backup " + incr2 + " would not restore: " + swapped).contains("a restore would reject: " + incr2);
        assertThat(verify.errLines()).singleElement().asString().contains("a restore would reject " + incr2).contains("hint: ");
        // What verify says, restore does: it refuses incr2 and writes nothing; the backups under it are intact.
        Path target = dir.resolve("target");
        CliRun restore = CliRun.run("restore", "-q", "--repo", r.toString(), "--backup", incr2, "--to", target.toString());
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(restore.err()).contains(swapped);
        assertThat(target).doesNotExist();
        CliRun only1 = CliRun.run("verify", "--repo", r.toString(), "--backup", incr1);
        assertThat(only1.exitCode()).as(only1.out() + only1.err()).isZero();
    }

    @Test
    void verify_rebuildsEveryFileOfEveryBackup_andSaysWhatItChecked() {
        CliRun all = CliRun.run("verify", "--json", "--repo", repo.toString());
        assertThat(all.exitCode()).as(all.err()).isZero();
        assertThat(all.out()).containsPattern("\"backups\"\\s*:\\s*3").containsPattern("\"rejected\"\\s*:\\s*\\[\\s*]");
        long files = Long.parseLong(all.out().replaceAll("(?s).*\"filesRebuilt\"\\s*:\\s*(\\d+).*", "$1"));
        long passes = Long.parseLong(all.out().replaceAll("(?s).*\"passes\"\\s*:\\s*(\\d+).*", "$1"));
        // Every file of the three backups is rebuilt; those the backups hold alike, or over one whole file, share a pass.
        assertThat(files).isGreaterThan(2_000);
        assertThat(passes).isLessThan(files / 2);
        CliRun text = CliRun.run("verify", "--repo", repo.toString(), "--backup", incr2);
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).containsPattern("rebuilt \\d+ files \\(.*\\) of 1 backups in \\d+ passes").contains("ok: 1 backups");
    }
}
