package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The blocks an incremental stores of each file, in memory and in its manifest: every list reads
 * back as written whichever form it took, old manifests' arrays still read, a list that breaks the
 * rules is refused, and a manifest listing the changed blocks of 1 TiB fits a small heap.
 */
class BlockListTest {
    private static FileEntry entry(BlockList blocks) {
        return FileEntry.pages("base/5/16384", 1L << 30, "rw-------", Checksum.EMPTY, "20261201-000000F", null, blocks, Checksum.EMPTY);
    }

    private static FileEntry roundTrip(FileEntry e) throws Exception {
        return Json.MAPPER.readValue(Json.MAPPER.writeValueAsBytes(e), FileEntry.class);
    }

    @Test
    void everyList_readsBackAsWritten_inTheShorterForm() throws Exception {
        Random r = new Random(19);
        int bitmaps = 0;
        int arrays = 0;
        for (int round = 0; round < 400; round++) {
            // From empty to 5,000 blocks, anywhere from 1 in 1 to 1 in 1,000 of a range that starts anywhere up to 2^32 - 10^7.
            int n = round < 5 ? round : r.nextInt(5000);
            int gap = 1 + (round % 4 == 0 ? 0 : r.nextInt(round % 3 == 0 ? 1000 : 40));
            long at = round % 5 == 0 ? (long) r.nextInt(Integer.MAX_VALUE) * 2 : r.nextInt(100);
            long[] blocks = new long[n];
            for (int i = 0; i < n; i++) {
                blocks[i] = at;
                at += 1 + r.nextInt(gap);
            }
            BlockList l = BlockList.of(blocks);
            assertThat(l.toArray()).isEqualTo(blocks);
            assertThat(l.size()).isEqualTo(n);
            // Never more than 4 bytes per block, nor more than a bit per block of the range it spans.
            long span = n == 0 ? 0 : blocks[n - 1] - blocks[0] + 1;
            assertThat(l.heapBytes()).isLessThanOrEqualTo(Math.min(4L * n, span / 8) + 8);

            FileEntry e = entry(l);
            byte[] json = Json.MAPPER.writeValueAsBytes(e);
            JsonNode tree = Json.MAPPER.readTree(json);
            // Only the entry's fields: no "whole"/"pages"/"unchanged" derived from its source (45 bytes of every entry's JSON).
            assertThat(tree.has("whole") || tree.has("pages") || tree.has("unchanged") || tree.has("needsBitmapReader")).isFalse();
            FileEntry back = roundTrip(e);
            assertThat(back.blocks().toArray()).as("round %d", round).isEqualTo(blocks);
            assertThat(back.blocks()).isEqualTo(l);
            if (l.bitmapInJson()) {
                bitmaps++;
                assertThat(tree.has("blocks")).isFalse();
                assertThat(tree.get("blockBitmap").get("count").asLong()).isEqualTo(n);
                assertThat(e.needsBitmapReader()).isTrue();
            } else {
                arrays++;
                assertThat(tree.has("blockBitmap")).isFalse();
                assertThat(tree.get("blocks").size()).isEqualTo(n);
                assertThat(e.needsBitmapReader()).isFalse();
            }
            // The shorter text was chosen.
            long arrayText = Json.MAPPER.writeValueAsString(blocks).length();
            long bitmapText = span == 0 ? Long.MAX_VALUE : 40 + (span + 7) / 8 * 4 / 3;
            assertThat(l.bitmapInJson()).isEqualTo(arrayText > bitmapText);
        }
        assertThat(bitmaps).isGreaterThan(50);
        assertThat(arrays).isGreaterThan(50);
    }

    @Test
    void aManifestOfBeforeFormat4_withItsArray_reads() throws Exception {
        String json = "{\"path\":\"base/5/1\",\"size\":81920,\"source\":\"pages\",\"reference\":\"x\",\"blocks\":[0,3,4,9]}";
        FileEntry e = Json.MAPPER.readValue(json, FileEntry.class);
        assertThat(e.blocks().toArray()).containsExactly(0, 3, 4, 9);
        assertThat(Json.MAPPER.readValue("{\"path\":\"base/5/1\",\"source\":\"whole\"}", FileEntry.class).blocks()).isNull();
    }

    @Test
    void listsThatBreakTheRules_areRefusedAsDamage() {
        for (String bad : List.of(
                "\"blocks\":[3,2]", "\"blocks\":[1,1]", "\"blocks\":[-1,2]", "\"blocks\":[1,\"2\"]", "\"blocks\":[0,4294967296000]",
                // count says 3, two bits set (blocks 7 and 9)
                "\"blockBitmap\":{\"first\":7,\"count\":3,\"bitmap\":\"BQ==\"}",
                // the first block's bit is not set
                "\"blockBitmap\":{\"first\":7,\"count\":1,\"bitmap\":\"Ag==\"}",
                "\"blockBitmap\":{\"first\":7,\"count\":1}",
                "\"blocks\":[7],\"blockBitmap\":{\"first\":7,\"count\":1,\"bitmap\":\"AQ==\"}")) {
            String json = "{\"path\":\"base/5/1\",\"source\":\"pages\"," + bad + "}";
            assertThatThrownBy(() -> Json.MAPPER.readValue(json, FileEntry.class)).as(bad)
                    .isInstanceOf(com.fasterxml.jackson.core.JacksonException.class);
        }
        assertThatThrownBy(() -> BlockList.of(5, 4)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ascending");
    }

    /** A reader of format 3 knew only "blocks", as a list of numbers, and ignored fields it did not know. */
    record OldEntry(String path, String source, List<Long> blocks) {
    }

    record OldManifest(int formatVersion, List<OldEntry> files) {
    }

    @Test
    void aManifestWithABitmap_isFormat4_andAnOlderReaderParsesItToReachItsVersionCheck() throws Exception {
        long[] dense = new long[1000];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = 2L * i;
        }
        Manifest sparse = manifest(List.of(entry(BlockList.of(1, 5000))));
        Manifest withBitmap = manifest(List.of(entry(BlockList.of(1, 5000)), entry(BlockList.of(dense))));
        assertThat(sparse.inFormatItNeeds()).isSameAs(sparse);
        assertThat(sparse.inFormatItNeeds().formatVersion()).isEqualTo(Manifest.FORMAT_SUMMARIES);
        assertThat(withBitmap.inFormatItNeeds().formatVersion()).isEqualTo(Manifest.FORMAT_BITMAP);

        byte[] body = Json.MAPPER.writeValueAsBytes(withBitmap.inFormatItNeeds());
        var older = Json.MAPPER.copy().readValue(body, OldManifest.class);
        assertThat(older.formatVersion()).isEqualTo(4);
        assertThat(older.files().get(0).blocks()).containsExactly(1L, 5000L);
        assertThat(older.files().get(1).blocks()).isNull();
        assertThat(Repository.misplaced("b", withBitmap.inFormatItNeeds())).isNull();
    }

    static Manifest manifest(List<FileEntry> files) {
        return new Manifest(Manifest.FORMAT_SUMMARIES, "b", "incr", "20261201-000000F", "1", 180000, 1, "0/0", "0/0", "t", "t", "zstd",
                null, null, List.of(), files, List.of(), 0, 0, "test", Manifest.WAL_IN_BACKUP, true, null, null, "wal-summary", null);
    }

    /**
     * The bound: in a JVM of 128 MiB of heap, the manifest of an incremental of 1 TiB (1,024 files
     * of 1 GiB) in which every other block changed (67,108,864 blocks) is written, compressed, read
     * back and walked. As a list of boxed numbers (about 24 bytes per block) it took about 1.6 GB.
     */
    @Test
    void theManifestOfAHalfChanged1TiB_fitsA128MiBHeap() throws Exception {
        assertThat(ChildJvm.run(List.of("-Xmx128m"), HalfChangedTerabyte.class)).contains("ok 1024 files, 67108864 blocks, format 4");
    }

    public static final class HalfChangedTerabyte {
        public static void main(String[] args) throws Exception {
            int perFile = 131072;
            List<FileEntry> files = new ArrayList<>();
            long[] blocks = new long[perFile / 2];
            for (int i = 0; i < 1024; i++) {
                for (int k = 0; k < blocks.length; k++) {
                    blocks[k] = 2L * k + (i & 1);
                }
                files.add(FileEntry.pages("base/5/" + (100000 + i), perFile * 8192L, "rw-------", Checksum.EMPTY, "20261201-000000F", null,
                        BlockList.of(blocks), Checksum.EMPTY));
            }
            Manifest m = manifest(files).inFormatItNeeds();
            byte[] stored = Repository.compressMetadata(Json.seal(m));
            files = null;
            m = null;
            byte[] sealed = com.github.luben.zstd.Zstd.decompress(stored, (int) com.github.luben.zstd.Zstd.getFrameContentSize(stored));
            Manifest back = Json.unseal("manifest", sealed, Manifest.class);
            sealed = null;
            long n = 0;
            for (int i = 0; i < back.files().size(); i++) {
                BlockList.Cursor c = back.files().get(i).blocks().cursor();
                for (long k = 0; c.hasNext(); k++) {
                    long b = c.next();
                    if (b != 2 * k + (i & 1)) {
                        throw new AssertionError("file " + i + ": block " + k + " reads " + b);
                    }
                    n++;
                }
            }
            System.out.println("ok " + back.files().size() + " files, " + n + " blocks, format " + back.formatVersion()
                    + ", " + stored.length + " bytes stored");
        }
    }
}
