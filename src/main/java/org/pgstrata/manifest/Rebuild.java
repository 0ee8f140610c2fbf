package org.pgstrata.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pgstrata.postgres.Page;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.Storage;

/**
 * Rebuilds files from their layers (page sets over a whole file, see {@link Chain#layers}) in one
 * sequential pass, for restore, verify and the reverse-delta conversion alike, so that what
 * verify and a conversion accept is exactly what a restore produces.
 *
 * <p>Several files that lie over the same whole file (one file as several backups of a chain
 * hold it) are rebuilt together: every object is read once, in block order, and each file takes
 * each block from its own newest layer that has it. Each file's content is checksummed and
 * compared with the checksum its manifest records; optionally written to a sink, and its blocks
 * hashed (to check a block map).
 */
public final class Rebuild {
    private Rebuild() {
    }

    /** One file to rebuild. */
    public static final class Target {
        private final String path;
        private final List<Chain.Layer> layers;
        private final long size;
        private final String checksum;
        private final OutputStream sink;
        private final boolean hashBlocks;
        private final Checksum digest;
        private long[] blockHashes;
        private String actual;
        private int[] order;

        /**
         * @param layers     newest first, ending with the whole file they lie over
         * @param size       the file's size, which it is cut (or zero-padded) to
         * @param checksum   the XXH64 its manifest records for the whole content (plain, or in block form: see {@link Checksum#BLOCKS_PREFIX})
         * @param sink       where to write the content, or null to only check it
         * @param hashBlocks whether to hash each block too ({@link #blockHashes()})
         */
        public Target(String path, List<Chain.Layer> layers, long size, String checksum, OutputStream sink, boolean hashBlocks) {
            if (layers.isEmpty() || !layers.get(layers.size() - 1).whole()) {
                throw new IllegalArgumentException("the layers of " + path + " do not end with a whole file");
            }
            this.path = path;
            this.layers = layers;
            this.size = size;
            this.checksum = checksum;
            this.digest = Checksum.like(checksum);
            this.sink = sink;
            this.hashBlocks = hashBlocks;
        }

        public String path() {
            return path;
        }

        public List<Chain.Layer> layers() {
            return layers;
        }

        public long size() {
            return size;
        }

        public String checksum() {
            return checksum;
        }

        /** The checksum of what was rebuilt (after {@link #run}). */
        public String actual() {
            return actual;
        }

        public boolean matches() {
            return checksum.equals(actual);
        }

        /** The hash of each rebuilt block, when asked for. */
        public long[] blockHashes() {
            return blockHashes;
        }

        Chain.Layer base() {
            return layers.get(layers.size() - 1);
        }
    }

    /** One object being read: a page set, or the whole file at the bottom. */
    private static final class Source {
        final Chain.Layer layer;
        InputStream in;
        /** The layer's blocks not yet read, and the next of them (-1 when none is left). */
        BlockList.Cursor blocks;
        long next = -1;
        boolean has;
        final byte[] page = new byte[Page.SIZE];
        int length;
        /** Where the block just read lies: in {@link #page}, or in place in the decoder's frame ({@link InPlace}). */
        byte[] data;
        int at;

        Source(Chain.Layer layer) {
            this.layer = layer;
        }
    }

    /** Identifies a layer's content: its object (or, without one, the backup it belongs to) and its blocks. */
    private static String identity(Chain.Layer l) {
        String o = l.object() == null ? "none@" + l.backup() : l.object().key() + "@" + l.object().start();
        return l.whole() ? "whole:" + o + ":" + l.size() : "pages:" + o + ":" + l.blocks().size();
    }

    /**
     * Rebuilds {@code targets}, which must all lie over the same whole file. With {@code bundle}
     * (the stored bytes of the bundle the whole file is a member of), that file is read from it.
     * Every object is read to its end, so that its stored checksum is checked (a damaged object
     * throws {@link CorruptObjectException}); a file whose rebuilt content differs from its
     * manifest is not an exception: see {@link Target#matches()}.
     */
    public static void run(ObjectStore objects, List<Target> targets, byte[] bundle) throws IOException {
        if (targets.isEmpty()) {
            return;
        }
        Chain.Layer baseLayer = targets.get(0).base();
        String baseId = identity(baseLayer);
        Map<String, Source> sources = new LinkedHashMap<>();
        Map<String, Integer> index = new java.util.HashMap<>();
        Source base = new Source(baseLayer);
        sources.put(baseId, base);
        index.put(baseId, 0);
        long maxBlocks = 0;
        for (Target t : targets) {
            if (!identity(t.base()).equals(baseId)) {
                throw new IllegalArgumentException(t.path + " lies over another whole file than " + targets.get(0).path);
            }
            t.order = new int[t.layers.size()];
            for (int i = 0; i < t.layers.size(); i++) {
                Chain.Layer l = t.layers.get(i);
                String id = identity(l);
                if (!sources.containsKey(id)) {
                    index.put(id, sources.size());
                    sources.put(id, new Source(l));
                }
                t.order[i] = index.get(id);
            }
            if (t.hashBlocks) {
                t.blockHashes = new long[(int) BlockMap.blocks(t.size)];
            }
            maxBlocks = Math.max(maxBlocks, BlockMap.blocks(t.size));
        }
        List<Source> list = new ArrayList<>(sources.values());
        long baseBlocks = BlockMap.blocks(baseLayer.size());
        Storage store = objects.storage();
        Reads plan = reads(list, base, bundle, store.readsAtOnce());
        boolean lean = list.stream().filter(s -> !s.layer.whole() && s.layer.object() != null).count() > LEAN_FROM;
        try {
            readHeld(objects, plan.held(), lean);
            try (Storage.HeldReads reads = store.holdReads(plan.streamed())) {
                merge(objects, targets, bundle, list, base, baseBlocks, maxBlocks, lean);
            }
        } finally {
            for (Source s : list) {
                if (s.in != null) {
                    s.in.close();
                }
            }
        }
        for (Target t : targets) {
            if (t.sink != null) {
                t.sink.flush();
            }
            t.actual = t.digest.hex();
        }
    }

    /**
     * From this many page sets on, a rebuild decodes each of them with zstd's stream decoder, on
     * its own thread ({@link ObjectStore#open(ObjectRef, boolean)}): up to three 4 MiB frames of
     * each of forty layers of a big table's file (a month of daily incrementals) took more heap
     * than the whole restore is given. The whole file under them keeps its frames decompressed
     * ahead on other threads.
     */
    static final int LEAN_FROM = 4;

    /** Page sets of at most this many stored bytes are read whole before a rebuild, where the store limits open reads. */
    static final long HELD_BYTES = 1 << 20;
    /** Held page sets read at once, at most (each a request on S3; each at most {@link #HELD_BYTES}, all held until the file is written anyway). */
    private static final int HELD_READERS = 32;

    /** How a rebuild reads its layers: {@code held} read whole first, {@code streamed} reads held open (0 where the store does not limit them). */
    private record Reads(List<Source> held, int streamed) {
    }

    /**
     * The page sets that are read whole before the rebuild, on a store that limits the reads open
     * at once ({@link Storage#readsAtOnce}; none elsewhere): every small one (the daily change of
     * most files of a long chain), and, when a file has more large layers than the store reads at
     * once, the smallest large ones too. The rebuild holds one read for each other layer.
     */
    private static Reads reads(List<Source> list, Source base, byte[] bundle, int readsAtOnce) {
        List<Source> held = new ArrayList<>();
        if (readsAtOnce == Integer.MAX_VALUE) {
            return new Reads(held, 0);
        }
        List<Source> large = new ArrayList<>();
        int streamed = 0;
        for (Source s : list) {
            ObjectRef ref = s.layer.object();
            if (ref == null || s == base && bundle != null && ref.offset() != null) {
                continue;
            }
            if (!s.layer.whole() && ref.storedBytes() <= HELD_BYTES) {
                held.add(s);
            } else {
                streamed++;
                if (!s.layer.whole()) {
                    large.add(s);
                }
            }
        }
        large.sort(java.util.Comparator.comparingLong(s -> s.layer.object().storedBytes()));
        for (int i = 0; streamed > readsAtOnce && i < large.size(); i++, streamed--) {
            held.add(large.get(i));
        }
        return new Reads(held, streamed);
    }

    /**
     * Opens each of {@code held} from its stored bytes, read whole now, up to {@link
     * #HELD_READERS} at once (holding that many of the store's reads meanwhile); the first
     * failure in their order is thrown.
     */
    private static void readHeld(ObjectStore objects, List<Source> held, boolean lean) throws IOException {
        if (held.isEmpty()) {
            return;
        }
        int readers = Math.min(HELD_READERS, Math.min(held.size(), objects.storage().readsAtOnce()));
        List<java.util.concurrent.Callable<InputStream>> tasks = new ArrayList<>();
        for (Source s : held) {
            tasks.add(() -> objects.openRead(s.layer.object(), lean));
        }
        try (Storage.HeldReads reads = objects.storage().holdReads(readers)) {
            List<InputStream> opened = readers == 1 ? null : org.pgstrata.api.Parallel.run(readers, "pgstrata-layers", tasks);
            for (int i = 0; i < held.size(); i++) {
                held.get(i).in = opened != null ? opened.get(i) : tasks.get(i).call();
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) { // a task throws only IOException or RuntimeException
            throw new IOException(e);
        }
    }

    /** Reads every layer in block order and hands each target each of its blocks. */
    private static void merge(ObjectStore objects, List<Target> targets, byte[] bundle, List<Source> list, Source base, long baseBlocks,
            long maxBlocks, boolean lean) throws IOException {
        for (Source s : list) {
            ObjectRef ref = s.layer.object();
            if (s.in == null) { // else held: read whole already
                s.in = ref == null ? InputStream.nullInputStream()
                        : bundle != null && ref.offset() != null && s == base ? objects.open(ref, bundle)
                        : objects.open(ref, lean && !s.layer.whole());
            }
            if (!s.layer.whole()) {
                s.blocks = s.layer.blocks().cursor();
                s.next = s.blocks.hasNext() ? s.blocks.next() : -1;
            }
        }
        for (long b = 0; b < maxBlocks; b++) {
            // Read block b from every layer that has it (each layer is read in block order, once).
            for (Source s : list) {
                Chain.Layer l = s.layer;
                if (l.whole()) {
                    s.has = b < baseBlocks;
                    s.length = s.has ? (int) Math.min(Page.SIZE, l.size() - b * Page.SIZE) : 0;
                } else {
                    s.has = s.next == b;
                    s.length = s.has ? Page.SIZE : 0;
                    if (s.has) {
                        s.next = s.blocks.hasNext() ? s.blocks.next() : -1;
                    }
                }
                if (s.has) {
                    readExactly(s, b, targets.get(0).path);
                }
            }
            // Each file takes the block from its newest layer that has it.
            for (Target t : targets) {
                long tBlocks = BlockMap.blocks(t.size);
                if (b >= tBlocks) {
                    continue;
                }
                Source from = null;
                for (int i : t.order) {
                    if (list.get(i).has) {
                        from = list.get(i);
                        break;
                    }
                }
                if (from == null) {
                    throw new CorruptObjectException(t.path, "block " + b + " of " + t.path + " is in no backup of the chain "
                            + t.layers.stream().map(Chain.Layer::backup).toList());
                }
                int want = (int) Math.min(Page.SIZE, t.size - b * Page.SIZE);
                byte[] page = from.data;
                int at = from.at;
                if (from.length < want) {
                    // the whole file was shorter: the rest of the block reads as zeros
                    byte[] padded = new byte[Page.SIZE];
                    System.arraycopy(page, at, padded, 0, from.length);
                    page = padded;
                    at = 0;
                }
                t.digest.update(page, at, want);
                if (t.blockHashes != null) {
                    t.blockHashes[(int) b] = BlockMap.hash(page, at, want);
                }
                if (t.sink != null) {
                    t.sink.write(page, at, want);
                }
            }
        }
        // Every object to its end, so that its stored checksum is checked (a BlockList is ascending by construction).
        for (Source s : list) {
            s.in.transferTo(OutputStream.nullOutputStream());
        }
    }

    /** Reads the block into the source's {@link Source#data}: in place where the decoder holds it whole, else into its page. */
    private static void readExactly(Source s, long block, String path) throws IOException {
        int got = 0;
        if (s.in instanceof InPlace p) {
            int k = p.readInPlace(s.length);
            if (k == s.length) {
                s.data = p.array();
                s.at = p.offset();
                return;
            }
            if (k > 0) { // the block spans two frames (or the stream ends): its first part is copied, the rest read after it
                System.arraycopy(p.array(), p.offset(), s.page, 0, k);
                got = k;
            }
        }
        s.data = s.page;
        s.at = 0;
        got += s.in.readNBytes(s.page, got, s.length - got);
        if (got != s.length) {
            Chain.Layer l = s.layer;
            throw new CorruptObjectException(l.object() == null ? path : l.object().key(), "ends early: block " + block + " of " + path
                    + " from backup " + l.backup() + " is missing");
        }
    }

    /** The identity under which {@link #run} reads a layer: targets whose bases share it can be rebuilt together. */
    public static String baseIdentity(List<Chain.Layer> layers) {
        return identity(layers.get(layers.size() - 1));
    }

    /** A key that is equal for two targets exactly when they rebuild the same content the same way. */
    public static String identity(List<Chain.Layer> layers, long size, String checksum) {
        StringBuilder sb = new StringBuilder();
        for (Chain.Layer l : layers) {
            sb.append(identity(l)).append('|');
        }
        return sb.append(size).append('|').append(checksum).toString();
    }
}
