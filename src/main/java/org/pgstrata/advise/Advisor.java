package org.pgstrata.advise;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.Sizes;
import org.pgstrata.backup.IncrementalDryRun;
import org.pgstrata.db.BackupSession;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.postgres.Lsn;

/**
 * {@code pgstrata advise}: measures a cluster against its repository and predicts what each
 * strategy would cost here. It reads; it never writes to the repository (and takes no lock, so a
 * running backup is not disturbed) or to the data directory, and starts no backup on the server.
 * Like compare, it composes engines: the backup engine's dry run of an incremental does the
 * measuring of the change.
 */
public final class Advisor {
    private final Clock clock;
    private final Progress progress;

    public Advisor(Clock clock, Progress progress) {
        this.clock = clock;
        this.progress = progress;
    }

    public Advice run(AdviseRequest req) {
        Path pgdata = req.pgdata().toAbsolutePath().normalize();
        LocalCluster.requireDataDirectory(pgdata);
        try (Repository repo = Repository.open(req.repo())) {
            // The repository must serve this cluster and hold a full backup to measure against
            String systemIdentifier = readSystemIdentifier(pgdata);
            int major = LocalCluster.majorOf(pgdata);
            repo.requireInfo();
            repo.checkCluster(systemIdentifier, major);
            List<Manifest> backups = repo.backups();
            if (backups.stream().noneMatch(m -> m.type().equals(BackupType.FULL.label()))) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe()
                        + " holds no physical full backup, and advise measures the change since the newest backup",
                        "take one first: pgstrata backup --repo " + repo.describe() + " --pgdata " + req.pgdata() + " --type full");
            }
            Manifest full = newestFull(backups);
            Manifest base;

            Advice.Change change;
            Advice.Wal wal;
            long backupWal;
            long restoredWal;
            long dataBytes;
            long blockMap;
            try (BackupSession session = BackupSession.open(req.connection(), pgdata, progress)) {
                if (!session.dataChecksums()) {
                    throw new PgstrataException(ErrorCode.SERVER_SETTING, "data checksums are off on " + req.connection().describe()
                            + ": incremental, differential and reverse-delta backups need them, and advise measures change the way they do",
                            "enable them with pg_checksums --enable while the server is stopped");
                }
                // Pages changed only in shared buffers reach the files, as at a backup's own start
                if (req.checkpoint()) {
                    progress.step("CHECKPOINT, so that the files hold every changed page");
                    session.checkpoint();
                }
                Lsn now = session.currentLsn();
                int timeline = session.currentTimeline();
                // the backup the next incremental would build on: the newest in this cluster's past, not one of a timeline it left
                base = IncrementalDryRun.reference(backups, pgdata, timeline);

                // What the next incremental would store: a dry run of it
                Compression compression = Compression.parse(base.compression());
                IncrementalDryRun.Result dry = new IncrementalDryRun(clock, progress)
                        .measure(repo.objects(), base, pgdata, systemIdentifier, timeline, now, compression, req.jobs());
                dataBytes = dry.dataBytes();
                // A standby's backups copy their WAL from its pg_wal, archive or not (the standby cannot be asked to archive it)
                boolean archived = !session.standby() && (!new WalArchive(repo.storage()).isEmpty() || session.archivesInto(repo.describe()));
                backupWal = archived ? 0 : storedWal(base);
                restoredWal = archived ? 0 : base.wal() == null ? 0 : base.wal().stream().mapToLong(WalEntry::size).sum();
                double hours = Duration.between(Instant.parse(base.startTime()), Instant.now(clock)).toNanos() / 3.6e12;
                change = new Advice.Change(base.id(), base.type(), base.startTime(), hours, req.checkpoint(), compression.label(),
                        dry.files(), dry.changedFiles(), dry.newFiles(), dry.pagesAsDeltas(), dry.storedContentBytes(), dry.storedBytes(),
                        dry.changedFilesBytes(), dry.storedBytes() + backupWal + dry.blockMapBytes());
                blockMap = dry.blockMapBytes();

                // WAL per hour, from what the repository records
                progress.step("measuring the WAL rate from " + repo.describe());
                wal = WalRateProbe.measure(repo, backups, timeline, pgdata, now, session.walSegmentSize());
            }

            // This machine's restore rate, on the newest full's objects
            Path scratch = req.scratchDir() != null ? req.scratchDir() : Path.of(System.getProperty("java.io.tmpdir"));
            progress.step("measuring the restore rate on backup " + full.id() + " for up to " + req.restoreSampleSeconds()
                    + " s, writing into " + scratch);
            Advice.RestoreRate rate = RestoreRateProbe.measure(repo.objects(), full, scratch, req.restoreSampleSeconds());
            if (rate.sampleBytes() == 0) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "backup " + full.id() + " holds no file content to measure the restore rate on",
                        "take a full backup of the cluster first");
            }

            // Predict each strategy from the measurements
            long fullData = 0;
            long fullObjects = 0;
            for (FileEntry f : full.files()) {
                if (f.isWhole() && f.object() != null) {
                    fullData += f.size();
                    fullObjects += f.object().storedBytes();
                }
            }
            double ratio = fullData == 0 ? 1.0 : fullObjects / (double) fullData;
            long fullToday = Math.round(dataBytes * ratio);
            StrategyModel.Inputs inputs = new StrategyModel.Inputs(dataBytes, restoredWal, fullToday, backupWal + blockMap, change.objectBytes(),
                    change.contentBytes(), wal.bytesPerHour(), wal.storedBytesPerHour(), rate.readMBps() * 1e6, rate.writeMBps() * 1e6);
            List<Advice.Strategy> strategies = StrategyModel.predict(inputs);
            String fullFrom = full.id() + ": " + Sizes.human(fullObjects) + " stored for " + Sizes.human(fullData) + " of data";
            List<String> assumptions = assumptions(change, wal, rate, backupWal, blockMap, restoredWal, base, dataBytes, ratio, fullFrom);
            return new Advice(repo.describe(), pgdata.toString(), systemIdentifier, major, change, wal, rate, dataBytes, ratio, fullFrom,
                    backupWal, blockMap, fullToday + backupWal + blockMap, strategies, assumptions);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "advise failed: " + e.getMessage(), "fix the cause and run it again; nothing was written", e);
        }
    }

    private static String readSystemIdentifier(Path pgdata) {
        try {
            return ControlFile.read(pgdata).systemIdentifierText();
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + pgdata.resolve("global/pg_control") + ": " + e.getMessage(),
                    "run pgstrata as a user that can read the data directory");
        }
    }

    private static Manifest newestFull(List<Manifest> backups) {
        for (int i = backups.size() - 1; i >= 0; i--) {
            if (backups.get(i).type().equals(BackupType.FULL.label())) {
                return backups.get(i);
            }
        }
        throw new IllegalStateException("no full backup, though one was found to build on");
    }

    /** The WAL a backup stores with itself when there is no archive: as much as the newest did. */
    private static long storedWal(Manifest m) {
        return m.wal() == null ? 0 : m.wal().stream().mapToLong((WalEntry w) -> w.object().storedBytes()).sum();
    }

    private static List<String> assumptions(Advice.Change c, Advice.Wal wal, Advice.RestoreRate rate, long backupWal, long blockMap, long restoredWal,
                                            Manifest base,
                                            long dataBytes, double ratio, String fullFrom) {
        List<String> a = new ArrayList<>();
        int days = StrategyModel.DAYS;
        a.add("one backup a day, each day changing as much as changed since backup " + c.sinceBackup() + " ("
                + WalRateProbe.hoursText(c.hoursSince()) + " ago; this holds best when that is about a day): the next incremental's "
                + Sizes.human(c.predictedIncrementalBytes()) + "; the data stays at today's " + Sizes.human(dataBytes)
                + "; per day is a week's bytes / " + days);
        a.add(c.checkpointed()
                ? "CHECKPOINT ran first, so the files held the pages changed only in shared buffers, as at a backup's own start"
                : "--no-checkpoint: pages changed only in shared buffers since the last checkpoint were not counted, so the change may be"
                        + " under-estimated");
        a.add(String.format("a full today: the data at the newest full's compression (%s, %.1f%%)", fullFrom, 100 * ratio));
        a.add(backupWal == 0
                ? "backups store no WAL of their own: it is in the repository's WAL archive"
                : "each backup stores its own WAL as " + base.id() + " did: " + Sizes.human(backupWal));
        a.add("each backup stores its block map beside its objects, 8 bytes per 8 KiB of data: " + Sizes.human(blockMap) + " today");
        a.add("incremental chain and differential start a new chain with a full every " + days + " days; their restore times are for the"
                + " last day of a chain, the worst");
        a.add("differential: each day changes other pages than the days before, so a differential grows by a day's change each day, up"
                + " to a full (an upper bound: pages that change every day count once)");
        a.add("reverse delta: one full, kept newest, and a reverse delta per older day about the size of an incremental; each day also"
                + " writes the changed files whole (" + Sizes.human(Math.round(c.changedFilesBytes() * ratio))
                + " today) and removes the old full's objects of those files, so the repository grows by about an incremental a day");
        if (wal.known()) {
            a.add("base backup + WAL: a full every " + days + " days and the WAL archive, writing WAL at the measured rate around the clock;"
                    + " a point may need up to " + days + " days of WAL: reading it is in the restore times, replaying it is not (replay"
                    + " speed is not measured here)");
            if (wal.spanHours() < 24) {
                a.add("the WAL rate was measured over only " + WalRateProbe.hoursText(wal.spanHours()) + ": over a short span a burst of"
                        + " writes reads as a whole day's rate; measure again when the repository covers a day or more");
            }
        } else {
            a.add("base backup + WAL: not predicted, the WAL rate is " + wal.detail());
        }
        a.add(String.format("restore time: %s read at %.1f MB/s, together with every layer laid over the full, and written"
                + " once at %.1f MB/s: the rates measured here on %s of backup %s (read, decompress and checksum; write and fsync into %s);"
                + " one file at a time (restore runs one job per core by default); repository reads may have come from the page cache; files only, no"
                + " server start or WAL replay",
                restoredWal == 0 ? "the data is" : "the data and the backup's own WAL (" + Sizes.human(restoredWal) + ") are", rate.readMBps(), rate.writeMBps(),
                Sizes.human(rate.sampleBytes()), rate.fromBackup(), rate.scratchDir()));
        return a;
    }
}
