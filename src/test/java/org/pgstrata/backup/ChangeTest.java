package org.pgstrata.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.manifest.BlockMap;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.postgres.Page;

/** The decisions of {@link Change} on byte arrays: bytes decide, page LSNs never do. */
class ChangeTest {
    /** {@code n} pages, each with the same LSN in its header and its number in the body. */
    private static byte[] pages(int n) {
        byte[] b = new byte[n * Page.SIZE];
        for (int i = 0; i < n; i++) {
            int off = i * Page.SIZE;
            b[off + 3] = 0x01; // pd_lsn 1/0 in every page
            b[off + 100] = (byte) i;
        }
        return b;
    }

    private static Reference.Held held(byte[] data) {
        return new Reference.Held(data.length, Checksum.of(data), "ref", null, BlockMap.hashAll(data, data.length));
    }

    @Test
    void aPageWhoseBytesChangeButNotItsLsn_isStored() {
        byte[] before = pages(4);
        byte[] after = before.clone();
        // What pg_checksums --enable or SP-GiST's metapage cache do: bytes change, pd_lsn stays.
        after[2 * Page.SIZE + 8] = 0x7f;
        assertThat(Page.lsn(after, 2 * Page.SIZE)).isEqualTo(Page.lsn(before, 2 * Page.SIZE));
        Reference.Held h = held(before);
        List<Long> changed = Change.changedBlocks(h.hashes(), after, after.length, 0);
        assertThat(changed).containsExactly(2L);
        assertThat(Change.classify(h, after.length, Checksum.of(after), true, changed.size())).isEqualTo(Change.Kind.PAGES);
    }

    @Test
    void aPageWhoseLsnMovesButNotItsBytes_isNotStored() {
        byte[] data = pages(3);
        Reference.Held h = held(data);
        assertThat(Change.changedBlocks(h.hashes(), data, data.length, 0)).isEmpty();
        assertThat(Change.classify(h, data.length, Checksum.of(data), true, 0)).isEqualTo(Change.Kind.UNCHANGED);
    }

    @Test
    void blocksPastTheReferencesEnd_shortBlocks_andReferencesWithoutAMap_areStored() {
        byte[] before = pages(2);
        byte[] grown = pages(3);
        Reference.Held h = held(before);
        assertThat(Change.changedBlocks(h.hashes(), grown, grown.length, 0)).containsExactly(2L);
        byte[] partial = java.util.Arrays.copyOf(before, before.length + 100); // the file grows under the read
        assertThat(Change.changedBlocks(h.hashes(), partial, partial.length, 0)).containsExactly(2L);
        assertThat(Change.blockChanged(null, 0, 42, Page.SIZE)).isTrue();
        Reference.Held legacy = new Reference.Held(before.length, Checksum.of(before), "ref", null, null);
        assertThat(Change.classify(legacy, grown.length, Checksum.of(grown), true, 0)).as("no block map: nothing known per block")
                .isEqualTo(Change.Kind.WHOLE);
        assertThat(Change.classify(legacy, before.length, Checksum.of(before), true, 0)).as("byte for byte the same")
                .isEqualTo(Change.Kind.UNCHANGED);
    }

    @Test
    void classify_wholeWhenEveryBlockChanged_pagesWhenOnlyTruncated_wholeWhenTheMapDisagreesWithTheChecksum() {
        byte[] before = pages(4);
        Reference.Held h = held(before);
        byte[] all = before.clone();
        for (int i = 0; i < 4; i++) {
            all[i * Page.SIZE + 200] = 9;
        }
        assertThat(Change.classify(h, all.length, Checksum.of(all), true, 4)).isEqualTo(Change.Kind.WHOLE);
        byte[] truncated = java.util.Arrays.copyOf(before, 2 * Page.SIZE);
        assertThat(Change.changedBlocks(h.hashes(), truncated, truncated.length, 0)).isEmpty();
        assertThat(Change.classify(h, truncated.length, Checksum.of(truncated), true, 0)).isEqualTo(Change.Kind.PAGES);
        // Every block hashes as the reference's, yet the whole differs: the map cannot be trusted for this file.
        assertThat(Change.classify(h, before.length, "0000000000000000", true, 0)).isEqualTo(Change.Kind.WHOLE);
        // A file that is not a relation's main fork is never stored by pages.
        assertThat(Change.classify(h, all.length, Checksum.of(all), false, 1)).isEqualTo(Change.Kind.WHOLE);
    }
}
