package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;

/**
 * compare removes its work directory at the end. Given an existing directory as --work-dir, it
 * removed that directory whole, with everything the user kept in it ('--work-dir ~' emptied the
 * home directory), and exit 0. A directory with something in it is now refused before anything
 * runs, and an empty one that existed is emptied again but stays.
 */
class CompareWorkDirOfTheUserTest extends PgTest {
    @Test
    void compare_refusesADirectoryThatHoldsSomething_andLeavesItAsItWas() throws Exception {
        Path mine = Files.createDirectories(dir.resolve("my files"));
        Files.writeString(mine.resolve("notes.txt"), "precious");
        CliRun r = CliRun.run("compare", "-q", "--rows", "200", "--cycles", "1", "--strategies", "full", "--work-dir", mine.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip().lines().filter(l -> l.startsWith("pgstrata: error:"))).singleElement().asString().contains(mine.toString());
        assertThat(Files.readString(mine.resolve("notes.txt"))).isEqualTo("precious");
        try (var listed = Files.list(mine)) {
            assertThat(listed.map(p -> p.getFileName().toString()).toList()).containsExactly("notes.txt");
        }
    }

    @Test
    void compare_inAnEmptyDirectoryThatExisted_leavesTheDirectory() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        CliRun r = CliRun.run("compare", "-q", "--rows", "200", "--cycles", "1", "--strategies", "full", "--work-dir", empty.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(empty).isDirectory().isEmptyDirectory();
    }
}
