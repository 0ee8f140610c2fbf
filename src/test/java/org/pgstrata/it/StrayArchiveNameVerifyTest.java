package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.storage.Storage;

/**
 * A stray file in the WAL archive whose name holds two dots ("..x", "a...b": a leftover of a
 * copy tool, an editor's backup) is a problem that verify names (exit code 15), not an internal
 * error (70) from refusing the name as a key that could leave the repository: only a component
 * that is exactly ".." can.
 */
class StrayArchiveNameVerifyTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static Path repo;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        LocalCluster source = pg.archivingBooks("source", repo, 1_000, 1_000);
        PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(source);
        source.stop();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void verifyNamesAStrayFileWithDotsInTheArchive_insteadOfFailingInternally() throws Exception {
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
        Path timelineDir;
        try (Stream<Path> s = Files.list(repo.resolve("archive"))) {
            timelineDir = s.filter(p -> p.getFileName().toString().matches("[0-9A-F]{16}")).findFirst().orElseThrow();
        }
        Files.writeString(timelineDir.resolve("..x"), "junk");
        Files.writeString(repo.resolve("archive").resolve("a...b"), "junk");

        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).anyMatch(p -> p.contains("..x")).anyMatch(p -> p.contains("a...b"));
        assertThat(v.rejected()).isEmpty();
    }

    @Test
    void aKeyThatCouldLeaveTheRepositoryIsStillRefused() {
        for (String bad : new String[] {"..", "../x", "archive/../../etc/passwd", "a/..", "/abs", ""}) {
            assertThatThrownBy(() -> Storage.checkedKey(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        for (String good : new String[] {"archive/..x", "a...b", "archive/history/x..y"}) {
            assertThat(Storage.checkedKey(good)).isEqualTo(good);
        }
    }
}
