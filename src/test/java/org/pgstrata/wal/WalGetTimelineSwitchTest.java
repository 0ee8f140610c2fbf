package org.pgstrata.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.SyntheticWal;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.storage.fs.FileStorage;

/**
 * A CREATE TABLESPACE record cut at the end of segment 1 of timeline 1, where timeline 1's segment
 * 2 was never archived: the server failed, and its standby, promoted in segment 2 after the
 * record, archived its own copy of segment 2 (timeline 2, which begins with timeline 1's bytes up
 * to the switch) and 00000002.history. Recovery to the latest timeline replays the creation from
 * timeline 1's segment 1 and timeline 2's segment 2. wal get looked for the record's neighbours on
 * the fetched segment's own timeline only, found none, and let the creation through both times.
 */
class WalGetTimelineSwitchTest {
    private static final long SEG = SyntheticWal.SEG;

    @TempDir
    Path dir;
    private Path repo;
    private Path dataDir;
    private Path location;

    @BeforeEach
    void archive() throws Exception {
        location = Files.createDirectories(dir.resolve("source's tablespace/PG_17_202406281")).getParent();
        SyntheticWal w = new SyntheticWal(3);
        w.fillUpTo(2 * SEG - 40); // starts 40 bytes before segment 1 ends, goes on in segment 2
        w.creation(16401, location.toString());
        w.filler(200);
        long switchPoint = 2 * SEG + 8192; // the standby was promoted after the record, in segment 2

        repo = dir.resolve("repo");
        try (Repository r = Repository.on(new FileStorage(repo))) {
            r.initialize("7000000000000000000", 17, Clock.systemUTC());
            WalArchive archive = new WalArchive(r.storage());
            archive.put(WalFileName.segment(1, 0, SEG), w.segment(0), Compression.NONE);
            archive.put(WalFileName.segment(1, 1, SEG), w.segment(1), Compression.NONE);
            // Timeline 2's copy of segment 2: timeline 1's bytes (page headers and all) up to the switch
            archive.put(WalFileName.segment(2, 2, SEG), w.segment(2), Compression.NONE);
            archive.put("00000002.history", String.format("1\t0/%X\tno recovery target specified%n", switchPoint)
                    .getBytes(StandardCharsets.US_ASCII), Compression.NONE);
        }
        dataDir = Files.createDirectories(dir.resolve("copy/pg_wal")).getParent();
        Files.writeString(dataDir.resolve("PG_VERSION"), "17\n");
        Files.createDirectories(dataDir.resolve("pg_tblspc"));
    }

    @Test
    void theCutSegment_findsTheRecordsEndOnTheTimelineThatBranchedInTheNext() {
        assertRefused(WalFileName.segment(1, 1, SEG));
    }

    @Test
    void theNewTimelinesSegment_findsTheRecordsStartOnTheTimelineItBranchedFrom() {
        assertRefused(WalFileName.segment(2, 2, SEG));
    }

    @Test
    void withoutTheForeignDirectory_bothAreFetched() throws Exception {
        Files.delete(location.resolve("PG_17_202406281"));
        for (String name : new String[] {WalFileName.segment(1, 1, SEG), WalFileName.segment(2, 2, SEG)}) {
            assertThat(WalGet.get(repo.toString(), name, dataDir.resolve("pg_wal/RECOVERYXLOG"))).isTrue();
        }
    }

    private void assertRefused(String name) {
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThatThrownBy(() -> WalGet.get(repo.toString(), name, target)).as(name)
                .isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TABLESPACE_IN_USE))
                .hasMessageContaining(location.toString());
        assertThat(target).doesNotExist();
    }
}
