package org.pgstrata.advise;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.pgstrata.api.Advice;
import org.pgstrata.api.Sizes;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.manifest.ArchiveTimelines;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.postgres.WalReader;

/**
 * WAL written per hour, from what the repository records: pairs of a WAL position and the time
 * it was reached. Backups give two each (start and stop, from their manifests); the archive gives
 * its newest transaction (the end of its commit record, and its time). The rate is the WAL
 * between the earliest and the latest such point over the time between them, so it counts the
 * segment switches that backups force too. What the WAL takes when stored comes from the
 * archive's own objects, or, without an archive, from compressing the newest WAL in pg_wal as
 * {@code wal push} would.
 */
final class WalRateProbe {
    /** Less WAL than this in pg_wal says nothing about how the WAL compresses. */
    private static final int MIN_SAMPLE = 64 * 1024;

    /** A WAL position and when it was reached; {@code archived}: read from the archive, not a manifest. */
    private record Point(Lsn lsn, Instant time, String what, boolean archived) {
    }

    private WalRateProbe() {
    }

    /** @param backups the repository's backups, oldest first */
    static Advice.Wal measure(Repository repo, List<Manifest> backups, int timeline, Path pgdata, Lsn now, long segmentSize)
            throws IOException {
        List<Point> points = new ArrayList<>();
        Manifest oldest = backups.get(0);
        Manifest newest = backups.get(backups.size() - 1);
        points.add(new Point(Lsn.parse(oldest.startLsn()), Instant.parse(oldest.startTime()), "the start of backup " + oldest.id(), false));
        if (backups.size() > 1) {
            points.add(new Point(Lsn.parse(newest.stopLsn()), Instant.parse(newest.stopTime()), "the stop of backup " + newest.id(), false));
        }

        WalArchive archive = new WalArchive(repo.storage());
        List<WalArchive.Entry> segments = archive.entries().stream().filter(e -> WalFileName.isSegment(e.name())).toList();
        Double ratio;
        String ratioText;
        if (!segments.isEmpty()) {
            long stored = 0;
            for (WalArchive.Entry e : segments) {
                stored += repo.storage().size(e.key());
            }
            ratio = stored / (double) (segments.size() * segmentSize);
            ratioText = String.format("the archive stores its %d segments at %.1f%% of their size", segments.size(), 100 * ratio);
            Point newestTransaction = newestTransaction(archive, timeline, Lsn.parse(newest.startLsn()));
            if (newestTransaction != null) {
                points.add(newestTransaction);
            }
        } else {
            long[] sample = new long[1];
            ratio = pgWalRatio(pgdata, timeline, now, segmentSize, sample);
            ratioText = ratio == null
                    ? "too little WAL in pg_wal to measure how it compresses: taken as stored uncompressed"
                    : String.format("stored at %.1f%% of its size (measured on %s of the newest WAL in pg_wal, compressed as wal push does)",
                            100 * ratio, Sizes.human(sample[0]));
        }

        points.sort(Comparator.comparing(Point::time));
        Point first = points.get(0);
        Point last = points.get(points.size() - 1);
        double hours = Duration.between(first.time(), last.time()).toNanos() / 3.6e12;
        long walBytes = last.lsn().value() - first.lsn().value();
        if (points.size() < 2 || hours <= 0 || walBytes < 0) {
            // With an archive, the WAL after the backup is on its way: the server archives a segment once it is full (or at archive_timeout)
            String why = !segments.isEmpty()
                    ? "the WAL archive holds no transaction after backup " + newest.id() + " to time the WAL by, and the repository has one"
                            + " backup; take another backup later, or measure again once the server has archived the segment it writes now"
                            + " (when it is full, or after archive_timeout)"
                    : "the repository holds one backup and no WAL archive: there are no two WAL positions with their times to measure between;"
                            + " take another backup later, or archive WAL into the repository (pgstrata wal setup)";
            return new Advice.Wal("unknown", null, null, ratio, null, "unknown: " + why);
        }
        String source = first.archived() || last.archived() ? "archive" : "backups";
        double perHour = walBytes / hours;
        double effectiveRatio = ratio == null ? 1.0 : ratio;
        String detail = String.format("from the %s: %s (%s, %s) to %s (%s, %s): %s of WAL in %s; %s",
                source.equals("archive") ? "archive" : "backups' manifests", first.lsn(), first.what(), first.time(), last.lsn(), last.what(),
                last.time(), Sizes.human(walBytes), hoursText(hours), ratioText);
        return new Advice.Wal(source, perHour, perHour * effectiveRatio, ratio, hours, detail);
    }

    /**
     * The newest commit or abort the archive holds on {@code timeline} after {@code from}: the
     * end of its record and its time. Null when there is none. Reads the archived WAL from the
     * newest backup on, as {@code info} does from the oldest.
     */
    private static Point newestTransaction(WalArchive archive, int timeline, Lsn from) throws IOException {
        ArchiveTimelines timelines = new ArchiveTimelines(archive);
        Point[] newest = {null};
        timelines.scan(timelines.path(timeline), from.segmentNumber(timelines.segmentSize()), r -> {
            if ((r.kind() == WalReader.Kind.COMMIT || r.kind() == WalReader.Kind.ABORT) && r.time() != null) {
                newest[0] = new Point(r.end(), r.time(), "the newest transaction in the archive", true);
            }
            return true;
        });
        return newest[0];
    }

    static String hoursText(double hours) {
        if (hours >= 1) {
            return String.format("%.1f h", hours);
        }
        double seconds = hours * 3600;
        return seconds >= 60 ? String.format("%.1f min", seconds / 60) : String.format("%.1f s", seconds);
    }

    /**
     * How the newest WAL compresses: the written part of the current segment and the segment
     * before it (when pg_wal still has it), compressed at the archive's level. Null when there is
     * too little to tell. {@code sampled[0]} receives the bytes compressed.
     */
    private static Double pgWalRatio(Path pgdata, int timeline, Lsn now, long segmentSize, long[] sampled) throws IOException {
        long segno = now.segmentNumber(segmentSize);
        Path walDir = pgdata.resolve("pg_wal");
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        Path previous = walDir.resolve(WalFileName.segment(timeline, segno - 1, segmentSize));
        if (segno > 0 && Files.isRegularFile(previous) && Files.size(previous) == segmentSize) {
            raw.write(Files.readAllBytes(previous));
        }
        Path current = walDir.resolve(WalFileName.segment(timeline, segno, segmentSize));
        if (Files.isRegularFile(current)) {
            try (InputStream in = Files.newInputStream(current)) {
                raw.write(in.readNBytes((int) (now.value() % segmentSize)));
            }
        }
        if (raw.size() < MIN_SAMPLE) {
            return null;
        }
        byte[] bytes = raw.toByteArray();
        sampled[0] = bytes.length;
        return Zstd.compress(bytes, ObjectStore.ZSTD_LEVEL).length / (double) bytes.length;
    }
}
