package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Damaged or extreme block lists (found in review): never parsed into another list, never failing with anything but a Jackson exception. */
class BlockListAdversarialTest {
    private static final String PREFIX = "{\"path\":\"base/5/1\",\"size\":8192,\"source\":\"pages\",\"reference\":\"x\",";

    private static FileEntry entry(BlockList blocks) {
        return FileEntry.pages("base/5/16384", 1L << 30, "rw-------", Checksum.EMPTY, "20261201-000000F", null, blocks, Checksum.EMPTY);
    }

    private static FileEntry read(String fields) throws Exception {
        return Json.MAPPER.readValue(PREFIX + fields + "}", FileEntry.class);
    }

    private static String bitmapJson(BlockList l) throws Exception {
        java.io.StringWriter w = new java.io.StringWriter();
        try (var g = Json.MAPPER.getFactory().createGenerator(w)) {
            new BlockList.BitmapForm().serialize(l, g, Json.MAPPER.getSerializerProvider());
        }
        return w.toString();
    }

    private static String arrayJson(long[] blocks) throws Exception {
        return Json.MAPPER.writeValueAsString(blocks);
    }

    private static void assertRefused(String fields) {
        FileEntry e;
        try {
            e = read(fields);
        } catch (JacksonException expected) {
            return;
        } catch (Throwable t) {
            throw new AssertionError(fields + " failed with " + t + ", not a Jackson exception", t);
        }
        throw new AssertionError(fields + " parsed, as " + (e.blocks() == null ? "null" : java.util.Arrays.toString(e.blocks().toArray())));
    }

    // ---------------------------------------------------------------- overflow near Long.MAX_VALUE

    /** span = last - first + 1 overflows to Long.MIN_VALUE, passes the "> 2^31" check, and the array size goes negative. */
    @Test
    void of_zeroAndLongMax_isRefusedAsIllegalArgument() {
        assertThatThrownBy(() -> BlockList.of(0, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void json_arrayZeroAndLongMax_isAJacksonError() {
        assertRefused("\"blocks\":[0,9223372036854775807]");
    }

    /** A bitmap starting near Long.MAX_VALUE: its later bits wrap to negative block numbers, and it parsed. */
    @Test
    void json_bitmapFirstNearLongMax_isRefused() {
        // first = MAX, bits 0 and 1 set: blocks MAX and MAX+1 (= Long.MIN_VALUE)
        assertRefused("\"blockBitmap\":{\"first\":9223372036854775807,\"count\":2,\"bitmap\":\"Aw==\"}");
        // first = MAX - 3, one byte of 8 blocks: the last four wrap
        assertRefused("\"blockBitmap\":{\"first\":9223372036854775804,\"count\":8,\"bitmap\":\"/w==\"}");
    }

    @Test
    void bitmapEndingExactlyAtLongMax_stillReads() throws Exception {
        // first = MAX - 7, 0xFF: blocks MAX-7 .. MAX, all representable
        FileEntry e = read("\"blockBitmap\":{\"first\":9223372036854775800,\"count\":8,\"bitmap\":\"/w==\"}");
        long[] a = e.blocks().toArray();
        assertThat(a).hasSize(8);
        assertThat(a[7]).isEqualTo(Long.MAX_VALUE);
        assertThat(a).isSorted();
    }

    // ---------------------------------------------------------------- lenient bitmap fields

    /** The array form refuses non-integers; the bitmap form truncated floats and took a number as base64 text. */
    @Test
    void json_bitmapFieldsOfTheWrongType_areRefused() {
        assertRefused("\"blockBitmap\":{\"first\":7.9,\"count\":1,\"bitmap\":\"AQ==\"}");
        assertRefused("\"blockBitmap\":{\"first\":7,\"count\":1.5,\"bitmap\":\"AQ==\"}");
        assertRefused("\"blockBitmap\":{\"first\":1e3,\"count\":1,\"bitmap\":\"AQ==\"}");
        // "1234" is valid base64 (d7 6d f8, 16 bits set, the first one too)
        assertRefused("\"blockBitmap\":{\"first\":0,\"count\":16,\"bitmap\":1234}");
    }

    /** null blocks mean "the whole file" to Chain.Layer: a pages entry that reads without blocks would restore its page set as the file. */
    @Test
    void json_aPagesEntryWithoutBlocks_isRefused() {
        assertRefused("\"blocks\":null");
        assertRefused("\"blockBitmap\":null");
        assertRefused("\"pagesChecksum\":\"x\"");
        assertThatThrownBy(() -> FileEntry.pages("a", 0, "rw-------", Checksum.EMPTY, "x", null, null, Checksum.EMPTY))
                .isInstanceOf(NullPointerException.class);
    }

    /** Each field holds only its own form: a bitmap under "blocks" or an array under "blockBitmap" was never written. */
    @Test
    void json_aFormUnderTheOtherName_isRefused() {
        assertRefused("\"blockBitmap\":[]");
        assertRefused("\"blockBitmap\":[1,2]");
        assertRefused("\"blocks\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ==\"}");
    }

    // ---------------------------------------------------------------- other damage: refused, with a Jackson exception

    @Test
    void json_otherDamage_isAJacksonError() {
        for (String bad : List.of(
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ= =\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"A Q==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ==\\n\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ*=\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"_w==\"}", // URL-safe alphabet
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":null}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":true}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":[1]}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":{\"a\":1}}",
                "\"blockBitmap\":{\"first\":-1,\"count\":1,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":{\"first\":\"0\",\"count\":1,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":0,\"bitmap\":\"AA==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":-1,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":4294967297,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":2,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ==\",\"first\":99999999999999999999}",
                "\"blockBitmap\":{\"count\":1,\"bitmap\":\"AQ==\"}",
                "\"blockBitmap\":7",
                "\"blockBitmap\":\"AQ==\"",
                "\"blocks\":{}",
                "\"blocks\":7",
                "\"blocks\":\"[1]\"",
                "\"blocks\":[1.0]",
                "\"blocks\":[null]",
                "\"blocks\":[[1]]",
                "\"blocks\":[true]",
                "\"blocks\":[99999999999999999999]",
                "\"blocks\":[0,2147483647]",
                "\"blocks\":[5,4]",
                "\"blocks\":[],\"blockBitmap\":{\"first\":0,\"count\":1,\"bitmap\":\"AQ==\"}")) {
            assertRefused(bad);
        }
    }

    /** Forms that are unusual but say the same list. */
    @Test
    void json_unusualButUnambiguous_readsTheListItSays() throws Exception {
        assertThat(read("\"blockBitmap\":{\"first\":3,\"count\":1,\"bitmap\":\"AQ\"}").blocks().toArray()).containsExactly(3);
        assertThat(read("\"blockBitmap\":{\"bitmap\":\"BQ==\",\"count\":2,\"first\":3,\"other\":{\"x\":[1,2]}}").blocks().toArray())
                .containsExactly(3, 5);
        // trailing zero bytes, nine of them: a trailing zero word in the bits
        String trailing = Base64.getEncoder().encodeToString(new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        BlockList l = read("\"blockBitmap\":{\"first\":10,\"count\":1,\"bitmap\":\"" + trailing + "\"}").blocks();
        assertThat(l.toArray()).containsExactly(10);
        assertThat(l).isEqualTo(BlockList.of(10)).hasSameHashCodeAs(BlockList.of(10));
        BlockList.Cursor c = l.cursor();
        assertThat(c.next()).isEqualTo(10);
        assertThat(c.hasNext()).isFalse();
        assertThatThrownBy(c::next).isInstanceOf(NoSuchElementException.class);
        assertThat(bitmapJson(l)).isEqualTo(bitmapJson(BlockList.of(10)));
        // bits in a later word after zero words
        byte[] b = new byte[24];
        b[0] = 1;
        b[23] = (byte) 0x80;
        BlockList far = read("\"blockBitmap\":{\"first\":0,\"count\":2,\"bitmap\":\"" + Base64.getEncoder().encodeToString(b) + "\"}").blocks();
        assertThat(far.toArray()).containsExactly(0, 191);
        // a pages entry with an empty array: an empty list, not null (null would be "whole file")
        assertThat(read("\"blocks\":[]").blocks()).isNotNull().isEqualTo(BlockList.EMPTY);
        assertThat(read("\"blocks\":[]").isPages()).isTrue();
    }

    // ---------------------------------------------------------------- round trips, every representation

    private static void roundTripEveryWay(long[] blocks) throws Exception {
        BlockList l = BlockList.of(blocks);
        assertThat(l.toArray()).isEqualTo(blocks);
        assertThat(l.size()).isEqualTo(blocks.length);
        // The entry, in the form it chooses
        FileEntry e = entry(l);
        byte[] json = Json.MAPPER.writeValueAsBytes(e);
        JsonNode tree = Json.MAPPER.readTree(json);
        assertThat(tree.has("blocks") ^ tree.has("blockBitmap")).as("exactly one of the fields for %s", l).isTrue();
        FileEntry back = Json.MAPPER.readValue(json, FileEntry.class);
        assertThat(back.blocks()).isNotNull();
        assertThat(back.blocks().toArray()).isEqualTo(blocks);
        assertThat(back).isEqualTo(e);
        // Written again from what was read: the same bytes
        assertThat(Json.MAPPER.writeValueAsBytes(back)).isEqualTo(json);
        if (blocks.length > 0) {
            // Both forms, forced, whatever the choice
            String asBitmap = PREFIX + "\"blockBitmap\":" + bitmapJson(l) + "}";
            assertThat(Json.MAPPER.readValue(asBitmap, FileEntry.class).blocks().toArray()).isEqualTo(blocks);
        }
        String asArray = PREFIX + "\"blocks\":" + arrayJson(blocks) + "}";
        assertThat(Json.MAPPER.readValue(asArray, FileEntry.class).blocks().toArray()).isEqualTo(blocks);
    }

    @Test
    void everySubsetOfSmallSpans_atSeveralStarts_roundTripsEveryWay() throws Exception {
        long[] starts = {0, 1, 7, 63, 64, 65, 4294967294L - 20, 4294967295L, 1L << 40, Long.MAX_VALUE - 13};
        for (long start : starts) {
            for (int mask = 0; mask < (1 << 13); mask++) {
                long[] blocks = new long[Integer.bitCount(mask)];
                int n = 0;
                for (int i = 0; i < 13; i++) {
                    if ((mask & (1 << i)) != 0) {
                        blocks[n++] = start + i;
                    }
                }
                roundTripEveryWay(blocks);
            }
        }
    }

    /** Lists around the heap threshold (span / 8 vs 4 bytes a block) and the JSON threshold, long enough for several words. */
    @Test
    void listsAtTheThresholds_roundTripEveryWay() throws Exception {
        Random r = new Random(42);
        int bitmapsInJson = 0;
        for (int n = 1; n <= 300; n++) {
            for (int spanDelta = -3; spanDelta <= 3; spanDelta++) {
                for (long start : new long[] {0, 5, 4294967295L - 32L * n - 3, (1L << 50) + 3}) {
                    long span = Math.max(n, 32L * n + spanDelta); // span / 8 around 4 * n
                    // first and last fixed, n - 2 others distinct in between
                    java.util.TreeSet<Long> set = new java.util.TreeSet<>();
                    set.add(start);
                    set.add(start + span - 1);
                    while (set.size() < n) {
                        set.add(start + 1 + (long) (r.nextDouble() * (span - 2)));
                    }
                    long[] blocks = set.stream().mapToLong(Long::longValue).toArray();
                    roundTripEveryWay(blocks);
                    if (BlockList.of(blocks).bitmapInJson()) {
                        bitmapsInJson++;
                    }
                }
            }
        }
        // dense lists, to cross the JSON threshold
        for (int n = 1; n < 400; n++) {
            long[] blocks = new long[n];
            int step = 1 + n % 9;
            for (int i = 0; i < n; i++) {
                blocks[i] = 100_000L + (long) i * step;
            }
            roundTripEveryWay(blocks);
            if (BlockList.of(blocks).bitmapInJson()) {
                bitmapsInJson++;
            }
        }
        assertThat(bitmapsInJson).isGreaterThan(100);
    }

    // ---------------------------------------------------------------- in the manifest

    @Test
    void aPagesEntryNeverLosesItsBlocks_inASealedManifest() throws Exception {
        List<FileEntry> files = new ArrayList<>();
        files.add(entry(BlockList.EMPTY));
        files.add(entry(BlockList.of(3)));
        long[] dense = new long[1000];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = 2L * i;
        }
        files.add(entry(BlockList.of(dense)));
        files.add(FileEntry.whole("base/5/2", 8192, "rw-------", Checksum.EMPTY, null));
        Manifest m = BlockListTest.manifest(files);
        byte[] sealed = Json.seal(m.inFormatItNeeds());
        Manifest back = Json.unseal("m", sealed, Manifest.class);
        assertThat(back.formatVersion()).isEqualTo(Manifest.FORMAT_BITMAP);
        assertThat(back.files().get(0).blocks()).isNotNull().isEqualTo(BlockList.EMPTY);
        assertThat(back.files().get(1).blocks().toArray()).containsExactly(3);
        assertThat(back.files().get(2).blocks().toArray()).isEqualTo(dense);
        assertThat(back.files().get(3).blocks()).isNull();
        assertThat(back.files()).isEqualTo(files);
        // A whole or unchanged entry reads without blocks
        assertThat(Json.MAPPER.readValue("{\"path\":\"a\",\"source\":\"unchanged\",\"reference\":\"x\"}", FileEntry.class).blocks()).isNull();
    }

    /**
     * Jackson refuses a string of more than 20,000,000 characters by default: a bitmap spanning more than
     * 120 million blocks (a relation segment of more than ~915 GiB, with --with-segsize) is written, but its manifest cannot be read.
     */
    @Test
    void aBitmapOfMoreThan20MillionCharacters_readsBack() throws Exception {
        int n = 2_600_000;
        long[] blocks = new long[n];
        for (int i = 0; i < n; i++) {
            blocks[i] = 50L * i;
        }
        BlockList l = BlockList.of(blocks);
        assertThat(l.bitmapInJson()).isTrue();
        byte[] json = Json.MAPPER.writeValueAsBytes(entry(l));
        assertThat(json.length).isGreaterThan(20_000_000);
        FileEntry back = Json.MAPPER.readValue(json, FileEntry.class);
        assertThat(back.blocks().size()).isEqualTo(n);
        assertThat(back.blocks()).isEqualTo(l);
    }
}
