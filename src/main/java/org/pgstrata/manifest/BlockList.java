package org.pgstrata.manifest;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The blocks a backup stores of one file: block numbers, strictly ascending, held in at most one
 * bit per block of the range they span. A list of boxed numbers took about 24 bytes of heap per
 * block, so an incremental in which most of 1 TB changed (10^8 blocks) could not be written or
 * read within a bounded heap; every manifest of a repository is read by the commands that choose
 * among backups, so the same cost came back on every restore.
 *
 * <p>Held as a bitmap from the first block to the last when that is smaller than one 4-byte offset
 * per block, otherwise as offsets from the first block: either way no more than one bit per block
 * of the file, and 4 bytes per listed block.
 *
 * <p>In a manifest it is the entry's {@code blocks}, a JSON array of the block numbers, when that
 * is the shorter text (manifests before format 4 always have one), or its {@code blockBitmap},
 * {@code {"first":F,"count":N,"bitmap":"<base64>"}} (see {@link FileEntry}), where bit
 * {@code i} (least significant first) of byte {@code j} stands for block {@code F + 8j + i}; the
 * count must equal the bits set.
 */
public final class BlockList {
    public static final BlockList EMPTY = new BlockList(0, 0, null, new int[0]);

    private final long first;
    private final int count;
    /** Bit {@code i} of word {@code i/64} set for block {@code first + i}; or null. */
    private final long[] bits;
    /** Offsets from {@code first}, ascending; or null. */
    private final int[] offsets;

    private BlockList(long first, int count, long[] bits, int[] offsets) {
        this.first = first;
        this.count = count;
        this.bits = bits;
        this.offsets = offsets;
    }

    /** The list of these block numbers, which must be strictly ascending, non-negative and span less than 2^31 blocks. */
    public static BlockList of(long[] blocks, int length) {
        if (length == 0) {
            return EMPTY;
        }
        long first = blocks[0];
        if (first < 0) {
            throw new IllegalArgumentException("block number " + first + " is negative");
        }
        for (int i = 1; i < length; i++) {
            if (blocks[i] <= blocks[i - 1]) {
                throw new IllegalArgumentException("block numbers are not strictly ascending: " + blocks[i - 1] + " then " + blocks[i]);
            }
        }
        // last - first cannot overflow (both are non-negative); last - first + 1 can (0 and Long.MAX_VALUE)
        if (blocks[length - 1] - first >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("blocks " + first + " to " + blocks[length - 1] + " span more than 2^31 blocks");
        }
        long span = blocks[length - 1] - first + 1;
        if (span / 8 < 4L * length) {
            long[] bits = new long[(int) ((span + 63) / 64)];
            for (int i = 0; i < length; i++) {
                long o = blocks[i] - first;
                bits[(int) (o >>> 6)] |= 1L << o;
            }
            return new BlockList(first, length, bits, null);
        }
        int[] offsets = new int[length];
        for (int i = 0; i < length; i++) {
            offsets[i] = (int) (blocks[i] - first);
        }
        return new BlockList(first, length, null, offsets);
    }

    public static BlockList of(List<Long> blocks) {
        long[] a = new long[blocks.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = blocks.get(i);
        }
        return of(a, a.length);
    }

    public static BlockList of(long... blocks) {
        return of(blocks, blocks.length);
    }

    public int size() {
        return count;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** The block numbers in order. */
    public long[] toArray() {
        long[] out = new long[count];
        Cursor c = cursor();
        for (int i = 0; i < count; i++) {
            out[i] = c.next();
        }
        return out;
    }

    /** Bytes of heap the list's content takes (for the memory test and the docs). */
    long heapBytes() {
        return bits != null ? bits.length * 8L : offsets.length * 4L;
    }

    /** Walks the blocks in ascending order. */
    public Cursor cursor() {
        return new Cursor();
    }

    public final class Cursor {
        private int taken;
        private int word;
        private long rest = bits == null || bits.length == 0 ? 0 : bits[0];

        public boolean hasNext() {
            return taken < count;
        }

        /** The next block; only after {@link #hasNext()} said there is one. */
        public long next() {
            if (taken >= count) {
                throw new java.util.NoSuchElementException();
            }
            if (offsets != null) {
                return first + offsets[taken++];
            }
            while (rest == 0) {
                rest = bits[++word];
            }
            long b = first + ((long) word << 6) + Long.numberOfTrailingZeros(rest);
            rest &= rest - 1;
            taken++;
            return b;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockList other && Arrays.equals(toArray(), other.toArray());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toArray());
    }

    @Override
    public String toString() {
        long[] a = toArray();
        return a.length <= 16 ? Arrays.toString(a) : count + " blocks from " + first + " to " + a[a.length - 1];
    }

    /** Characters of the JSON array form, to choose the shorter one. */
    private long arrayTextLength() {
        long chars = 2 + Math.max(0, count - 1);
        Cursor c = cursor();
        while (c.hasNext()) {
            chars += Long.toString(c.next()).length();
        }
        return chars;
    }

    /** Bit i of byte j for block first + 8j + i: BitSet's own byte order. */
    private byte[] bitmapBytes() {
        if (bits != null) {
            return java.util.BitSet.valueOf(bits).toByteArray();
        }
        java.util.BitSet set = new java.util.BitSet();
        for (int o : offsets) {
            set.set(o);
        }
        return set.toByteArray();
    }

    private long last() {
        if (offsets != null) {
            return first + offsets[count - 1];
        }
        for (int w = bits.length - 1; ; w--) {
            if (bits[w] != 0) {
                return first + ((long) w << 6) + 63 - Long.numberOfLeadingZeros(bits[w]);
            }
        }
    }

    /** 0 until decided, then 1 (array) or 2 (bitmap): the shorter JSON text, decided once. */
    private byte jsonForm;

    /** Whether JSON holds this list as a bitmap (its array of numbers would be the longer text). */
    public boolean bitmapInJson() {
        if (jsonForm == 0) {
            long span = count == 0 ? 0 : last() - first + 1;
            long bitmapText = 40 + (span + 7) / 8 * 4 / 3;
            jsonForm = (byte) (count == 0 || arrayTextLength() <= bitmapText ? 1 : 2);
        }
        return jsonForm == 2;
    }

    /** The JSON array of the block numbers; "empty" (left out by NON_EMPTY) when the list goes out as a bitmap. */
    public static final class ArrayForm extends JsonSerializer<BlockList> {
        @Override
        public boolean isEmpty(SerializerProvider p, BlockList l) {
            return l == null || l.bitmapInJson();
        }

        @Override
        public void serialize(BlockList l, JsonGenerator g, SerializerProvider p) throws IOException {
            if (l.bitmapInJson()) {
                throw new IllegalStateException("a list of " + l.count + " blocks goes out as a bitmap, not an array");
            }
            g.writeStartArray();
            Cursor c = l.cursor();
            while (c.hasNext()) {
                g.writeNumber(c.next());
            }
            g.writeEndArray();
        }
    }

    /** {@code {"first":F,"count":N,"bitmap":"<base64>"}}. */
    public static final class BitmapForm extends JsonSerializer<BlockList> {
        @Override
        public void serialize(BlockList l, JsonGenerator g, SerializerProvider p) throws IOException {
            g.writeStartObject();
            g.writeNumberField("first", l.first);
            g.writeNumberField("count", l.count);
            g.writeStringField("bitmap", Base64.getEncoder().encodeToString(l.bitmapBytes()));
            g.writeEndObject();
        }
    }

    /** {@link Deserializer} for {@code blocks}: only the array form. */
    public static final class ArrayOnly extends Deserializer {
        public ArrayOnly() {
            super(JsonToken.START_ARRAY);
        }
    }

    /** {@link Deserializer} for {@code blockBitmap}: only the bitmap form. */
    public static final class BitmapOnly extends Deserializer {
        public BitmapOnly() {
            super(JsonToken.START_OBJECT);
        }
    }

    /** Reads either JSON form, block numbers streamed (never a boxed list); a list that breaks the rules is a damaged manifest. */
    public static class Deserializer extends JsonDeserializer<BlockList> {
        /** The only form accepted, or null for both. */
        private final JsonToken only;

        public Deserializer() {
            this(null);
        }

        Deserializer(JsonToken only) {
            this.only = only;
        }

        @Override
        public BlockList deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            try {
                if (only != null && p.currentToken() != only) {
                    throw new IllegalArgumentException(only == JsonToken.START_ARRAY ? "blocks are not a list" : "a block bitmap is not an object");
                }
                if (p.currentToken() == JsonToken.START_ARRAY) {
                    long[] a = new long[16];
                    int n = 0;
                    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                        if (t != JsonToken.VALUE_NUMBER_INT) {
                            throw new IllegalArgumentException("a block number is not an integer: " + p.getText());
                        }
                        if (n == a.length) {
                            a = Arrays.copyOf(a, a.length * 2);
                        }
                        a[n++] = p.getLongValue();
                    }
                    return of(a, n);
                }
                if (p.currentToken() == JsonToken.START_OBJECT) {
                    return bitmap(p);
                }
                throw new IllegalArgumentException("blocks are neither a list nor a bitmap");
            } catch (IllegalArgumentException e) {
                throw InvalidFormatException.from(p, "invalid block list: " + e.getMessage(), null, BlockList.class);
            }
        }

        private static long integer(JsonParser p, String name) throws IOException {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                throw new IllegalArgumentException("the bitmap's " + name + " is not an integer: " + p.getText());
            }
            return p.getLongValue();
        }

        private static BlockList bitmap(JsonParser p) throws IOException {
            long first = -1;
            long count = -1;
            byte[] bytes = null;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "first" -> first = integer(p, name);
                    case "count" -> count = integer(p, name);
                    case "bitmap" -> {
                        if (p.currentToken() != JsonToken.VALUE_STRING) {
                            throw new IllegalArgumentException("the bitmap is not a string: " + p.getText());
                        }
                        bytes = Base64.getDecoder().decode(p.getText());
                    }
                    default -> p.skipChildren();
                }
            }
            if (first < 0 || count <= 0 || bytes == null || bytes.length == 0 || bytes.length > (1L << 28)) {
                throw new IllegalArgumentException("a bitmap needs first >= 0, count > 0 and a bitmap of at most 2^31 bits");
            }
            java.util.BitSet set = java.util.BitSet.valueOf(bytes); // bit i of byte j is bit 8j + i, as written
            if (set.cardinality() != count || !set.get(0)) {
                throw new IllegalArgumentException("the bitmap has " + set.cardinality() + " blocks set, its count says " + count
                        + (!set.get(0) ? ", and its first block is not set" : ""));
            }
            long lastOffset = set.length() - 1;
            if (lastOffset >= Integer.MAX_VALUE || first > Long.MAX_VALUE - lastOffset) {
                throw new IllegalArgumentException("a bitmap from block " + first + " with its last bit at " + lastOffset
                        + " ends past the largest block number or spans more than 2^31 blocks");
            }
            long[] words = set.toLongArray();
            BlockList l = new BlockList(first, (int) count, words, null);
            long span = l.last() - first + 1;
            // Held as of() would hold it, so that equal lists take equal space whichever form they were read from.
            return span / 8 < 4L * count ? l : of(l.toArray(), (int) count);
        }
    }
}
