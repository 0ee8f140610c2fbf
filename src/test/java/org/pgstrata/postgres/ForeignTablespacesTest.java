package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which version directory at a creation's location makes it another cluster's, as recovery of a
 * PostgreSQL 17 data directory would take it: its own major's (a link to a directory too, since
 * recovery's stat() follows it), not another major's (recovery makes its own beside it), and not
 * one that a link of the data directory already leads to.
 */
class ForeignTablespacesTest {
    @TempDir
    Path dir;

    private ForeignTablespaces.Refusal scan(Path dataDir, Path location) {
        SyntheticWal w = new SyntheticWal(1);
        w.filler(100);
        w.creation(16500, location.toString());
        return ForeignTablespaces.find("000000010000000000000000", w.segment(0), SyntheticWal.SEG, dataDir, null, () -> null, () -> null,
                c -> false);
    }

    private Path dataDir() throws Exception {
        Path d = Files.createDirectories(dir.resolve("data/pg_tblspc"));
        Files.writeString(d.getParent().resolve("PG_VERSION"), "17\n");
        return d.getParent();
    }

    @Test
    void ownMajorsDirectory_isRefused_alsoThroughALink() throws Exception {
        Path data = dataDir();
        Path plain = Files.createDirectories(dir.resolve("plain/PG_17_202406281")).getParent();
        assertThat(scan(data, plain)).isNotNull().extracting(ForeignTablespaces.Refusal::versions).asList().containsExactly("PG_17_202406281");

        Path linked = Files.createDirectories(dir.resolve("linked"));
        Files.createSymbolicLink(linked.resolve("PG_17_202406281"), Files.createDirectories(dir.resolve("elsewhere")));
        assertThat(scan(data, linked)).as("a version directory that is a link").isNotNull();
    }

    @Test
    void anotherMajorsDirectory_anEmptyLocation_andOneTheDataDirectoryLinksTo_areNot() throws Exception {
        Path data = dataDir();
        Path older = Files.createDirectories(dir.resolve("older/PG_15_202209061")).getParent();
        assertThat(scan(data, older)).as("PostgreSQL 15's directory, for a 17 recovery").isNull();
        assertThat(scan(data, Files.createDirectories(dir.resolve("empty")))).isNull();
        assertThat(scan(data, dir.resolve("absent"))).isNull();

        Path own = Files.createDirectories(dir.resolve("own/PG_17_202406281")).getParent();
        assertThat(scan(data, own)).isNotNull();
        Files.createSymbolicLink(data.resolve("pg_tblspc/16400"), own); // a tablespace this recovery made there, and dropped
        assertThat(scan(data, own)).isNull();
    }
}
