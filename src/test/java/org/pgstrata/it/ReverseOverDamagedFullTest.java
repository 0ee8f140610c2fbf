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
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * A reverse backup whose previous full has a damaged object cannot turn that full into a reverse
 * delta. That is corruption (exit code 15), and the error must not say "nothing is lost: both
 * restore": the previous full does not restore.
 */
class ReverseOverDamagedFullTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;

    @BeforeAll
    static void setUp() {
        pg = new PgSupport(dir);
        source = pg.start("source", 17);
        repo = dir.resolve("repo");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    static BackupResult backup(BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), source.pgdata(), PgSupport.conn(source), type, Compression.ZSTD, 2, 0));
    }

    @Test
    void aDamagedPreviousFull_isCorrupt_andNotCalledRestorable() throws Exception {
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
        }
        BackupResult old = backup(BackupType.REVERSE);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 500, 500, 200, 3);
        }
        // Damage the old full's largest object (the books table), which the conversion reads.
        Path victim;
        try (Stream<Path> s = Files.list(repo.resolve("backup").resolve(old.id()).resolve("data"))) {
            victim = s.max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(victim);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(victim, bytes);

        assertThatThrownBy(() -> backup(BackupType.REVERSE))
                .isInstanceOf(PgstrataException.class)
                .satisfies(e -> {
                    PgstrataException p = (PgstrataException) e;
                    assertThat(p.code()).isEqualTo(ErrorCode.CORRUPT);
                    assertThat(p.getMessage() + " " + p.hint()).contains(old.id()).doesNotContain("both restore");
                });
    }
}
