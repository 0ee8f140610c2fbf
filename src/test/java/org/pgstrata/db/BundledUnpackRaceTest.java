package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled binaries are unpacked into a temporary directory named after the process, then
 * renamed into place. Two commands started at once on a machine that had not unpacked them yet
 * (a drill and a cluster init, two CI jobs) both unpacked; the second rename met the first's
 * directory, which Linux refuses with ENOTEMPTY, and the JDK reports that as a plain
 * FileSystemException, not the DirectoryNotEmptyException the code caught: the command failed
 * (exit 18, "cannot unpack ...: Directory not empty") and left its whole unpacked copy in the
 * cache. So did an unpack killed on its way (kill -9), for good: nothing looked at another
 * process's temporary directory again; one of a process gone, nothing in it written for ten
 * minutes, is removed by the next unpack.
 */
class BundledUnpackRaceTest {

    @TempDir
    Path cache;

    @Test
    void anUnpackThatLosesTheRace_usesTheWinnersCopy_andWhatAKilledUnpackLeftIsRemoved() throws Exception {
        Map<String, String> env = Map.of("PGSTRATA_CACHE", cache.toString());
        PgBinaries first = PgBinaries.bundled(15, env);
        Path target = first.binDir().getParent();
        assertThat(target.resolve("bin/postgres")).isExecutable();

        // What a killed unpack left: the temporary directory of a process that no longer runs.
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path killed = target.resolveSibling(target.getFileName() + ".tmp-" + gone.pid());
        Files.createDirectories(killed.resolve("bin"));
        Files.writeString(killed.resolve("bin/postgres"), "half written");
        for (Path p : new Path[] {killed.resolve("bin/postgres"), killed.resolve("bin"), killed}) {
            Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        }
        // One whose top directory has not changed for an hour, but which wrote deep inside it just now: an unpack still
        // running (in another PID namespace sharing the cache, where its PID means nothing here) is not taken for a dead one.
        Process alsoGone = new ProcessBuilder("true").start();
        alsoGone.waitFor();
        Path running = target.resolveSibling(target.getFileName() + ".tmp-" + alsoGone.pid());
        Files.createDirectories(running.resolve("share/timezone"));
        Files.writeString(running.resolve("share/timezone/UTC"), "just written");
        Files.setLastModifiedTime(running, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));

        // The loser of the race: its copy is complete when the winner's is already in place.
        PgBinaries.extract(PgBinaries.findBundle(15, env), target);

        assertThat(target.resolve("bin/postgres")).isExecutable();
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(target.getFileName().toString(),
                    running.getFileName().toString());
        }
    }
}
