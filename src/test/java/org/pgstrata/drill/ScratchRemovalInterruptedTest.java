package org.pgstrata.drill;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.Chattr;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Progress;

/**
 * A drill's directory was removed lock file first, restored data last: a drill killed (or a
 * removal that failed) in between left a full restored copy without its lock file, which the next
 * drills take for a directory of the user's and never remove, so copies pile up until the scratch
 * disk is full. The data now goes first, while the lock file still says whose it is.
 * A file that cannot be removed (immutable, chattr +i) stands in for the interruption.
 */
class ScratchRemovalInterruptedTest {
    @TempDir
    Path dir;

    @Test
    void aCopyWhoseRemovalStopsHalfway_isRemovedByTheNextDrill() throws Exception {
        Path parent = dir.resolve("scratch");
        ScratchArea area = ScratchArea.open(parent, Progress.NONE, Map.of());
        ScratchArea.Copy copy = area.newCopy("20261206-000000F", "/repo");
        Path stuck = Files.createDirectories(copy.data().resolve("base/5")).resolve("16385");
        Files.writeString(stuck, "restored data");
        Chattr.set("+i", stuck);
        try {
            copy.close();
        } finally {
            Chattr.set("-i", stuck);
        }
        assertThat(ScratchArea.cleanLeftovers(parent)).as("the next drill's clean-up").hasSize(1);
        try (var left = Files.list(parent)) {
            assertThat(left.toList()).isEmpty();
        }
    }
}
