package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * One damaged archived segment that no rule removes (bit rot in the newest one) is for verify to
 * name: expire still removes the WAL before the oldest kept backup, and leaves the damaged one.
 * It used to read the newest segment whole to learn the segment size and stop there, with exit 22
 * and "check that the repository is reachable and writable", after removing the backups, so the
 * old WAL never went.
 */
class ExpireDamagedSegmentTest extends PgTest {

    @Test
    void aDamagedNewestSegment_doesNotStopTheWalExpiry() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 3_000, 1_000);
        BackupResult first = PgSupport.fullBackup(repo, src);
        PgSupport.sql(src, "SELECT pg_switch_wal()");
        BackupResult second = PgSupport.fullBackup(repo, src);
        // WAL after the second's stop: a damaged segment of its own WAL would keep the first (it restores, the second not).
        PgSupport.sql(src, "CREATE TABLE after_second AS SELECT 1 AS n", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        src.stop();

        List<Path> segments = archived(repo).stream().filter(p -> p.getFileName().toString().length() == 24).sorted().toList();
        Path newest = segments.get(segments.size() - 1);
        assertThat(segmentNumber(newest.getFileName().toString())).as("the damaged segment lies after the second full's own WAL")
                .isGreaterThan(segmentNumber(segmentName(second.stopLsn())));
        try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}), 100);
        }
        String oldest = segments.get(0).getFileName().toString();
        assertThat(segmentNumber(oldest)).isLessThan(segmentNumber(segmentName(second.startLsn())));

        CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("removed 1 backup(s)").contains(" before " + second.startLsn());
        List<String> left = archived(repo).stream().map(p -> p.getFileName().toString()).toList();
        assertThat(left).doesNotContain(oldest).contains(newest.getFileName().toString());
        assertThat(left).allMatch(n -> n.endsWith(".history") || segmentNumber(n) >= segmentNumber(segmentName(second.startLsn())));
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.id()).containsExactly(second.id()).doesNotContain(first.id());
    }

    private static List<Path> archived(Path repo) throws Exception {
        try (Stream<Path> walk = Files.walk(repo.resolve("archive"))) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }

    private static long segmentNumber(String name) {
        return Long.parseLong(name.substring(8, 16), 16) * 256 + Long.parseLong(name.substring(16, 24), 16);
    }

    /** Segment name (timeline 1, 16 MiB segments) holding {@code lsn}. */
    private static String segmentName(String lsn) {
        String[] parts = lsn.split("/");
        long segno = ((Long.parseLong(parts[0], 16) << 32) | Long.parseLong(parts[1], 16)) / (16L * 1024 * 1024);
        return String.format("%08X%08X%08X", 1, segno / 256, segno % 256);
    }
}
