package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;

/**
 * An archived segment damaged in place (a flipped bit) after the backup's consistency point is
 * corruption (exit code 15), not an I/O error (22, "check that the repository is reachable"), for
 * a point-in-time restore whose way crosses it; {@code info}, which reads the archive to show what
 * can be restored, ends the window before it and names it damaged.
 */
class DamagedArchivedWalExitCodeTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static Path damaged;
    static String pointSegment;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        Pgstrata f = PgSupport.facade();
        source = pg.archivingBooks("source", repo, 2_000, 2_000);
        PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 100, 100, 100, 7);
        }
        String lsn = f.restorePoint(PgSupport.conn(source), "after-change", false);
        try (Connection c = PgSupport.connect(source)) {
            pointSegment = Db.queryString(c, "SELECT pg_walfile_name('" + lsn + "')");
            Books.mutate(c, 100, 100, 100, 8);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(source);
        source.stop();

        damaged = dir.resolve("repo-damaged");
        PgSupport.copyTree(repo, damaged);
        Path victim;
        try (Stream<Path> s = Files.walk(damaged.resolve("archive"))) {
            victim = s.filter(p -> p.getFileName().toString().equals(pointSegment)).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(victim);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(victim, bytes);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void aPointInTimeRestoreAcrossADamagedSegment_isRefusedAsCorrupt_andWritesNothing() {
        Path target = dir.resolve("pitr");
        for (RecoveryTarget t : new RecoveryTarget[] {new RecoveryTarget(RecoveryTarget.Type.NAME, "after-change", true, "latest", "promote"),
            new RecoveryTarget(RecoveryTarget.Type.LATEST, null, true, "latest", "promote")}) {
            assertThatThrownBy(() -> PgSupport.facade().restore(new RestoreRequest(damaged.toString(), target, null, false, null, null, 2, t)))
                    .as(t.describe())
                    .isInstanceOf(PgstrataException.class).hasMessageContaining(pointSegment)
                    .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT);
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void infoOnADamagedArchive_endsTheWindowBeforeTheSegment_andNamesItDamaged_notAnIoError() {
        // info shows what can be restored: the damaged segment is a gap that it names as damaged (verify judges it, exit 15)
        List<RecoveryWindow> windows = PgSupport.facade().info(damaged.toString());
        assertThat(windows).singleElement().satisfies(w -> {
            assertThat(w.damaged()).containsExactly(pointSegment);
            assertThat(w.gaps()).contains(pointSegment);
            // at most the damaged segment's start: recovery cannot pass it
            assertThat(Lsn.parse(w.latestLsn()).value()).isLessThanOrEqualTo(WalFileName.segmentNumber(pointSegment, 16L << 20) * (16L << 20));
        });
        // The undamaged repository reads to its end, past that segment, and names no damage.
        assertThat(PgSupport.facade().info(repo.toString())).singleElement().satisfies(w -> {
            assertThat(w.damaged()).isEmpty();
            assertThat(Lsn.parse(w.latestLsn()).segmentNumber(16L << 20)).isGreaterThan(WalFileName.segmentNumber(pointSegment, 16L << 20));
        });
    }
}
