package org.pgstrata.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;
import org.pgstrata.Chattr;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare's clean-up took its mark (compare.lock) off the work directory before removing what was
 * in it: a compare killed during that removal, or a removal that failed, left clusters and
 * repositories in a directory that no later compare recognises as a killed run's, so nothing
 * ever removed it. What is in the directory now goes first, while the mark still says whose it is.
 * A file that cannot be removed (immutable, chattr +i) stands in for the interruption.
 */
class CompareRemovalInterruptedTest {
    @TempDir
    Path dir;

    @Test
    void aWorkDirectoryWhoseRemovalStopsHalfway_isRemovedByTheNextCompare() throws Exception {
        Path work = dir.resolve("pgstrata-compare-1");
        Files.createDirectories(work);
        WorkDir mark = WorkDir.take(work, false);
        Path stuck = Files.createDirectories(work.resolve("source/base/5")).resolve("16385");
        Files.writeString(stuck, "a cluster's data");
        Chattr.set("+i", stuck);
        try {
            Compare.cleanUp(new ArrayList<>(), work, false, mark, work.toString(), new Compare.Options(1, 1, null, null, null, false));
        } finally {
            Chattr.set("-i", stuck);
        }
        assertThat(WorkDir.cleanLeftovers(dir, null)).as("the next compare's clean-up").hasSize(1);
        assertThat(work).doesNotExist();
    }
}
