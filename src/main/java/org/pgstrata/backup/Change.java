package org.pgstrata.backup;

import org.pgstrata.manifest.BlockMap;
import org.pgstrata.postgres.Page;

/**
 * What a backup built on a reference stores of a file: pure decisions over what was read (each
 * block's hash, the whole content's size and checksum) and what the reference recorded of the
 * same file, so that they can be tested on byte arrays.
 *
 * <p>The rule is byte equality, never page LSNs: PostgreSQL and its tools change bytes without
 * WAL (pg_checksums --enable rewrites every page, SP-GiST rewrites its metapage's cache, hint
 * bits without checksums), and a copy restored from an older backup has pages whose LSNs say
 * nothing about this repository. A block is stored unless its hash equals the reference's hash
 * of the same block; a file is "unchanged" only when its whole content has the reference's size
 * and checksum. What a restore rebuilds is therefore byte for byte what this backup read.
 */
final class Change {
    private Change() {
    }

    /** How a file is recorded. */
    enum Kind {
        /** Byte for byte the reference's file: nothing stored. */
        UNCHANGED,
        /** The changed blocks are stored, to be laid over the reference's file. */
        PAGES,
        /** The whole file is stored. */
        WHOLE
    }

    /**
     * Whether block {@code block}, {@code length} bytes that hash to {@code hash}, must be stored:
     * the reference has no hash for it (no block map, or the block lies past its end), the block
     * is short (a file that grows under the read; WAL replay completes it), or its bytes differ.
     */
    static boolean blockChanged(long[] referenceHashes, long block, long hash, int length) {
        if (referenceHashes == null || block >= referenceHashes.length || length < Page.SIZE) {
            return true;
        }
        return referenceHashes[(int) block] != hash;
    }

    /** {@link #blockChanged} for each block of {@code data} (which starts at block {@code first}); the changed ones. */
    static java.util.List<Long> changedBlocks(long[] referenceHashes, byte[] data, int length, long first) {
        return changedBlocks(referenceHashes, BlockMap.hashAll(data, length), length, first);
    }

    /** The same, for blocks already hashed: {@code hashes} of {@code length} bytes starting at block {@code first}. */
    static java.util.List<Long> changedBlocks(long[] referenceHashes, long[] hashes, int length, long first) {
        java.util.List<Long> blocks = new java.util.ArrayList<>();
        for (int i = 0; i < hashes.length; i++) {
            int len = Math.min(Page.SIZE, length - i * Page.SIZE);
            if (blockChanged(referenceHashes, first + i, hashes[i], len)) {
                blocks.add(first + i);
            }
        }
        return blocks;
    }

    /**
     * The checksum of content read whole, in the form the reference recorded its copy in: plain
     * ({@code plain}), or block form, computed from the blocks' {@code hashes} (see
     * {@link org.pgstrata.manifest.Checksum#BLOCKS_PREFIX}), so that the two compare.
     */
    static String inFormOf(String heldChecksum, String plain, long[] hashes) {
        return org.pgstrata.manifest.Checksum.isBlockForm(heldChecksum) ? org.pgstrata.manifest.Checksum.ofBlockHashes(hashes) : plain;
    }

    /**
     * How a file that the reference also holds is recorded, once all of it was read.
     *
     * @param byPages       whether the file may be stored as pages (a relation's main fork) and the reference has block hashes for it
     * @param changedBlocks how many of its blocks {@link #blockChanged} found changed
     */
    static Kind classify(Reference.Held held, long size, String checksum, boolean byPages, long changedBlocks) {
        if (size == held.size() && checksum.equals(held.checksum())) {
            return Kind.UNCHANGED;
        }
        if (!byPages || held.hashes() == null) {
            return Kind.WHOLE;
        }
        long blocks = BlockMap.blocks(size);
        if (changedBlocks >= blocks) {
            return Kind.WHOLE; // every block changed: the pages would be the whole file
        }
        if (changedBlocks == 0 && size == held.size()) {
            // Every block hashed as the reference's, yet the content's checksum differs: the reference's block map
            // does not describe its file. Nothing it says can be trusted for this file.
            return Kind.WHOLE;
        }
        return Kind.PAGES;
    }
}
