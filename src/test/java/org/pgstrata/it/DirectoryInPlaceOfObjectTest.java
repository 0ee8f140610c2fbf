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
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * An object of a filesystem repository replaced by a directory is a missing object (exit code
 * 15, naming it), as {@code exists} already says: not an I/O error of the restore's target ("restore
 * into DIR failed: Is a directory; check free space and permissions"), which names no file.
 */
class DirectoryInPlaceOfObjectTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static Path repo;
    static BackupResult full;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        LocalCluster source = pg.start("source", 17);
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 5_000, 5_000, 1, Progress.NONE);
        }
        repo = dir.resolve("repo");
        full = PgSupport.fullBackup(repo, source);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    /** A copy of the repository with the smallest object under backup/ID/{@code sub} replaced by an empty directory. */
    private static Path withDirectoryFor(String name, String sub) throws Exception {
        Path copy = dir.resolve("repo-" + name);
        PgSupport.copyTree(repo, copy);
        Path victim;
        try (Stream<Path> s = Files.list(copy.resolve("backup").resolve(full.id()).resolve(sub))) {
            // The smallest: one no larger than a directory's own size (4 KiB), which a size check alone does not tell apart.
            victim = s.filter(Files::isRegularFile).min(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        assertThat(Files.size(victim)).isLessThanOrEqualTo(4096);
        Files.delete(victim);
        Files.createDirectory(victim);
        return copy;
    }

    @Test
    void aDirectoryInPlaceOfAnObject_isAMissingObject_andTheRestoreWritesNothing() throws Exception {
        for (String sub : new String[] {"data"}) {
            Path copy = withDirectoryFor(sub, sub);
            Path target = dir.resolve("restored-" + sub);
            assertThatThrownBy(() -> PgSupport.facade().restore(new RestoreRequest(copy.toString(), target, null, false, null, null, 2)))
                    .as(sub)
                    .isInstanceOf(PgstrataException.class).hasMessageContaining("backup/" + full.id() + "/" + sub + "/")
                    .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT);
            assertThat(target).doesNotExist();
            VerifyResult v = PgSupport.facade().verify(copy.toString(), null);
            assertThat(v.rejected()).as(sub).containsExactly(full.id());
        }
    }
}
