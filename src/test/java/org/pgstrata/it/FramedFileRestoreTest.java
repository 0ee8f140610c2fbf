package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.Envelope;
import org.pgstrata.manifest.Json;

/**
 * A relation file stored whole is a sequence of independent zstd frames of 4 MiB of content
 * ({@code ZstdFrames}), which a restore decompresses on several threads and writes in order.
 * Restored from a chain (full + incremental whose changed pages lie in several frames), the copy
 * has the source's content and passes amcheck. A damaged byte in one frame of such an object
 * (its stored checksum made to match, so that only decompression and the content checksum can
 * see it) fails the restore as corrupt, in one line, leaving nothing behind.
 *
 * <p>The table is cheap: fillfactor 10 and rows of 400 bytes put one row on each page, so 3,000
 * rows fill 24 MB (six frames), mostly zeros.
 */
class FramedFileRestoreTest extends PgTest {
    private static final int MAJOR = 17;
    private static final int RANGE = 4 << 20;

    /** The big file's path in the data directory, and the incremental's id. */
    private record Made(String rel, String incr) {
    }

    /** The source, a full backup and an incremental with changed pages all over the big table. */
    private Made chain(LocalCluster src, Path repo, String compress) throws Exception {
        String rel = loadBig(src);
        assertThat(Files.size(src.pgdata().resolve(rel))).as("the big file, of more than five frames").isGreaterThan(5L * RANGE);
        backup(repo, src, "full", compress);
        // One row in 400 (every range), updated in place (HOT: fillfactor 10 leaves room on its page), and rows appended.
        PgSupport.sql(src, "UPDATE big SET pad = rpad('changed ' || id, 400, '#') WHERE id % 400 = 7",
                "INSERT INTO big SELECT g, rpad(g::text, 400, '+') FROM generate_series(3001, 3100) g");
        return new Made(rel, backup(repo, src, "incr", compress));
    }

    /** The big table, one row per page, settled; its file's path in the data directory. */
    private static String loadBig(LocalCluster src) throws Exception {
        PgSupport.sql(src, "CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 10, autovacuum_enabled = off)",
                "INSERT INTO big SELECT g, rpad(g::text, 400, '.') FROM generate_series(1, 3000) g",
                // Hint bits set now: with data checksums on, the change's scan would otherwise give every page a new LSN.
                "VACUUM big",
                "CHECKPOINT");
        return PgSupport.queryString(src, "SELECT pg_relation_filepath('big')");
    }

    /** The compressed size of each zstd frame of a stored object. */
    private static java.util.List<Long> frames(Path stored) throws Exception {
        byte[] b = Files.readAllBytes(stored);
        java.util.List<Long> frames = new java.util.ArrayList<>();
        for (int at = 0; at < b.length; ) {
            long k = com.github.luben.zstd.Zstd.findFrameCompressedSize(b, at, b.length - at);
            frames.add(k);
            at += (int) k;
        }
        return frames;
    }

    @Test
    void aFramedFile_fromAChain_restoresTheSourcesContent() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        Path repo = dir.resolve("repo");
        Made made = chain(src, repo, "zstd");
        String rel = made.rel();
        String incr = made.incr();
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(src);
        long size = Files.size(src.pgdata().resolve(rel));

        JsonNode big = entry(manifestOf(repo, incr), rel);
        assertThat(big.get("source").asText()).as("how the incremental holds " + rel).isEqualTo("pages");
        java.util.Set<Long> ranges = new java.util.TreeSet<>();
        for (long b : org.pgstrata.manifest.Json.MAPPER.treeToValue(big, org.pgstrata.manifest.FileEntry.class).blocks().toArray()) {
            ranges.add(b * 8192 / RANGE);
        }
        assertThat(ranges).as("the frames holding changed pages").hasSizeGreaterThanOrEqualTo(5);
        JsonNode inFull = entry(manifestOf(repo, firstBackup(repo)), rel);
        assertThat(frames(repo.resolve(inFull.get("object").get("key").asText()))).as("frames of the full's object of " + rel)
                .hasSize((int) ((inFull.get("size").asLong() + RANGE - 1) / RANGE));

        Path target = dir.resolve("restored");
        LocalCluster restored = CliBackups.restore(pg, repo, target, MAJOR, "--backup", incr, "--jobs", "2").cluster();
        assertThat(Files.size(target.resolve(rel))).as("size of the big file").isEqualTo(size);
        assertThat(ClusterContent.of(restored)).as("content of the restored chain").isEqualTo(atIncr);
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restored chain").isEmpty();
    }

    /**
     * One page in three changed: the incremental's manifest holds the big file's blocks as a
     * bitmap (format 4), and the chain restores with the source's content.
     */
    @Test
    void aDenseChange_isListedAsABitmap_andRestoresTheSourcesContent() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        Path repo = dir.resolve("repo");
        String rel = loadBig(src);
        backup(repo, src, "full", "zstd");
        PgSupport.sql(src, "UPDATE big SET pad = rpad('dense ' || id, 400, '#') WHERE id % 3 = 0");
        String incr = backup(repo, src, "incr", "zstd");
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(src);

        JsonNode m = manifestOf(repo, incr);
        JsonNode big = entry(m, rel);
        assertThat(big.get("source").asText()).as("how the incremental holds " + rel).isEqualTo("pages");
        assertThat(big.has("blocks")).as("a list of numbers for " + rel).isFalse();
        assertThat(big.get("blockBitmap").get("count").asInt()).as("blocks listed").isBetween(1000, 1100);
        assertThat(m.get("formatVersion").asInt()).isEqualTo(4);

        Path target = dir.resolve("restored");
        LocalCluster restored = CliBackups.restore(pg, repo, target, MAJOR, "--backup", incr, "--jobs", "2").cluster();
        assertThat(ClusterContent.of(restored)).as("content of the restored chain").isEqualTo(atIncr);
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restored chain").isEmpty();
    }

    /**
     * {@code --compress-level} reaches every object a backup writes: the same cluster backed up at
     * zstd's fast level -7 and at level 19 stores the big file's frames, the bundles and the changed
     * pages in fewer bytes at 19, and every backup restores with the source's content. A level that
     * cannot apply is refused before anything is written.
     */
    @Test
    void aChosenCompressLevel_reachesEveryObject_andEveryBackupRestores() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        String rel = loadBig(src);
        Path fast = dir.resolve("repo-fast");
        Path small = dir.resolve("repo-small");
        String fastFull = backup(fast, src, "full", "zstd", "--compress-level", "-7");
        String smallFull = backup(small, src, "full", "zstd", "--compress-level", "19");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(src);
        PgSupport.sql(src, "UPDATE big SET pad = rpad('leveled ' || id, 400, '#') WHERE id % 5 = 1");
        String fastIncr = backup(fast, src, "incr", "zstd", "--compress-level", "-7");
        String smallIncr = backup(small, src, "incr", "zstd", "--compress-level", "19");
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(src);

        // The big file whole (framed), a bundle of small files, the big file's changed pages: each smaller at 19.
        long fastWhole = storedBytes(entry(manifestOf(fast, fastFull), rel));
        long smallWhole = storedBytes(entry(manifestOf(small, smallFull), rel));
        assertThat(smallWhole).as("the big file stored whole at 19, against -7 (%d)", fastWhole).isLessThan(fastWhole * 9 / 10);
        assertThat(bundleBytes(small, smallFull)).as("bundles at 19, against -7").isLessThan(bundleBytes(fast, fastFull));
        long fastPages = storedBytes(entry(manifestOf(fast, fastIncr), rel));
        long smallPages = storedBytes(entry(manifestOf(small, smallIncr), rel));
        assertThat(smallPages).as("the changed pages at 19, against -7 (%d)", fastPages).isLessThan(fastPages * 9 / 10);

        LocalCluster r1 = CliBackups.restore(pg, fast, dir.resolve("r-fast"), MAJOR, "--backup", fastFull).cluster();
        assertThat(ClusterContent.of(r1)).as("the full at level -7, restored").isEqualTo(atFull);
        r1.stop();
        LocalCluster r2 = CliBackups.restore(pg, small, dir.resolve("r-small"), MAJOR, "--backup", smallIncr, "--jobs", "2").cluster();
        assertThat(ClusterContent.of(r2)).as("the chain at level 19, restored").isEqualTo(atIncr);
        assertThat(ClusterContent.amcheck(r2)).as("amcheck of the chain at level 19").isEmpty();
        r2.stop();
        // A reverse backup at 19 turns the first full into old pages (written at 19 too): that point still restores.
        backup(small, src, "reverse", "zstd", "--compress-level", "19");
        LocalCluster r3 = CliBackups.restore(pg, small, dir.resolve("r-reverse"), MAJOR, "--backup", smallFull).cluster();
        assertThat(ClusterContent.of(r3)).as("the first full, now a reverse delta at level 19, restored").isEqualTo(atFull);
        r3.stop();

        Path refused = dir.resolve("repo-refused");
        String[][] wrong = {{"--compress", "lz4", "--compress-level", "3"}, {"--compress-level", "0"}, {"--compress-level", "20"},
            {"--compress-level", "-8"}};
        for (String[] w : wrong) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("backup", "-q", "--repo", refused.toString(), "--pgdata",
                    src.pgdata().toString(), "--port", CliBackups.port(src)));
            args.addAll(java.util.List.of(w));
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", w) + ": " + r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).as(String.join(" ", w)).first().asString().contains("--compress-level");
        }
        CliRun logical = CliRun.run("backup", "-q", "--logical", "--repo", refused.toString(), "--port", CliBackups.port(src),
                "--compress-level", "3");
        assertThat(logical.exitCode()).as(logical.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(logical.err()).contains("physical backups only");
        assertThat(refused).as("nothing written for a refused level").doesNotExist();
    }

    private static long storedBytes(JsonNode entry) {
        return entry.get("object").get("storedBytes").asLong();
    }

    /** The stored bytes of a backup's bundles. */
    private static long bundleBytes(Path repo, String id) throws Exception {
        try (var s = Files.list(repo.resolve("backup").resolve(id).resolve("bundle"))) {
            long total = 0;
            for (Path p : s.toList()) {
                total += Files.size(p);
            }
            assertThat(total).as("bundles of " + id).isPositive();
            return total;
        }
    }

    @Test
    void aDamagedByteInOneFrame_failsTheRestoreAsCorrupt() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        Path repo = dir.resolve("repo");
        Made made = chain(src, repo, "zstd");
        String rel = made.rel();
        String incr = made.incr();

        // The full's object of the big file: a byte in the middle of its fourth frame, flipped.
        String key = entry(manifestOf(repo, firstBackup(repo)), rel).get("object").get("key").asText();
        Path stored = repo.resolve(key);
        java.util.List<Long> frames = frames(stored);
        assertThat(frames).hasSizeGreaterThan(4);
        long at = frames.get(0) + frames.get(1) + frames.get(2) + frames.get(3) / 2;
        try (FileChannel ch = FileChannel.open(stored, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x5a)).rewind();
            ch.write(b, at);
        }
        // Its own stored checksum made to match in every manifest that names it: only decompression and the content checksum can tell.
        String newStored = Checksum.of(Files.readAllBytes(stored));
        for (String id : new String[] {firstBackup(repo), incr}) {
            ObjectNode m = (ObjectNode) manifestOf(repo, id);
            for (JsonNode f : m.get("files")) {
                if (f.get("object") != null && f.get("object").get("key").asText().equals(key)) {
                    ((ObjectNode) f.get("object")).put("storedChecksum", newStored);
                }
            }
            Files.write(manifestPath(repo, id), com.github.luben.zstd.Zstd.compress(Envelope.seal(Json.MAPPER.writeValueAsBytes(m)), 9));
        }

        Path target = dir.resolve("target");
        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", incr, "--to", target.toString(), "--jobs", "2");
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(restore.errLines()).singleElement().asString().containsAnyOf(rel, key);
        assertThat(target).doesNotExist();
    }

    private static String backup(Path repo, LocalCluster src, String type, String compress, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("backup", "-q", "--json", "--repo", repo.toString(),
                "--pgdata", src.pgdata().toString(), "--port", CliBackups.port(src), "--type", type, "--compress", compress));
        args.addAll(java.util.List.of(more));
        return CliBackups.run(args.toArray(String[]::new)).get("id").asText();
    }

    private static JsonNode entry(JsonNode manifest, String path) {
        for (JsonNode f : manifest.get("files")) {
            if (f.get("path").asText().equals(path)) {
                return f;
            }
        }
        throw new AssertionError(path + " is not in the manifest");
    }

    private static String firstBackup(Path repo) throws Exception {
        try (var s = Files.list(repo.resolve("backup"))) {
            return s.map(p -> p.getFileName().toString()).sorted().findFirst().orElseThrow();
        }
    }

    private static Path manifestPath(Path repo, String id) {
        return repo.resolve("backup").resolve(id).resolve("manifest");
    }

    private static JsonNode manifestOf(Path repo, String id) throws Exception {
        byte[] stored = Files.readAllBytes(manifestPath(repo, id));
        byte[] packed = com.github.luben.zstd.Zstd.decompress(stored, (int) com.github.luben.zstd.Zstd.getFrameContentSize(stored));
        return Json.MAPPER.readTree(Envelope.open(id, packed));
    }
}
