package org.pgstrata.advise;

import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Advice;

/**
 * From measured sizes and rates to each strategy's cost over a week: one backup a day, each day
 * changing what changed since the newest backup, the data size staying as it is. Chains (incremental,
 * differential, base backup + WAL) start with a full every {@link #DAYS} days; their restore
 * times are for the worst day of that cycle. Pure arithmetic, so that it can be checked by hand.
 */
final class StrategyModel {
    static final int DAYS = 7;

    /**
     * What the model starts from.
     *
     * @param dataBytes          today's data directory (what a restore writes)
     * @param restoredWalBytes   WAL a restore writes into pg_wal besides (a backup's own, without an archive)
     * @param fullObjectBytes    a full's objects today (without WAL)
     * @param perBackupBytes     stored with each backup besides its objects: its own WAL (0 with an archive) and its block map
     * @param dayObjectBytes     one day's incremental objects (without WAL)
     * @param dayContentBytes    the uncompressed bytes in them (what a restore reads for that layer)
     * @param walBytesPerHour    null when unknown
     * @param walStoredPerHour   null when unknown
     * @param readBytesPerSecond read, decompress and checksum
     * @param writeBytesPerSecond write and fsync
     */
    record Inputs(long dataBytes, long restoredWalBytes, long fullObjectBytes, long perBackupBytes, long dayObjectBytes, long dayContentBytes,
                  Double walBytesPerHour, Double walStoredPerHour, double readBytesPerSecond, double writeBytesPerSecond) {
    }

    private StrategyModel() {
    }

    static List<Advice.Strategy> predict(Inputs in) {
        long full = in.fullObjectBytes() + in.perBackupBytes();
        long incr = in.dayObjectBytes() + in.perBackupBytes();
        double plainRestore = restoreSeconds(in, 0);
        List<Advice.Strategy> rows = new ArrayList<>();

        rows.add(row("full daily", DAYS * full, plainRestore, "1 full", plainRestore, "1 full", null));

        long chainWeek = full + (DAYS - 1) * incr;
        double chainRestore = restoreSeconds(in, (DAYS - 1) * in.dayContentBytes());
        String chainReads = "full + " + (DAYS - 1) + " incr";
        rows.add(row("incremental chain", chainWeek, chainRestore, chainReads, chainRestore, chainReads, null));

        // A differential on day k holds k days of change: at most k times a day's, and never more than a full.
        long diffWeek = full;
        for (int k = 1; k < DAYS; k++) {
            diffWeek += Math.min(k * in.dayObjectBytes(), in.fullObjectBytes()) + in.perBackupBytes();
        }
        double diffRestore = restoreSeconds(in, Math.min((DAYS - 1) * in.dayContentBytes(), in.dataBytes()));
        String diffReads = "full + 1 diff of " + (DAYS - 1) + " days";
        rows.add(row("differential", diffWeek, diffRestore, diffReads, diffRestore, diffReads, null));

        // One full, kept new; each older day is a reverse delta of the pages that day changed.
        long reverseWeek = DAYS * incr;
        rows.add(row("reverse delta", reverseWeek, plainRestore, "1 full", restoreSeconds(in, DAYS * in.dayContentBytes()),
                "full + " + DAYS + " reverse deltas", null));

        if (in.walBytesPerHour() == null) {
            rows.add(new Advice.Strategy("base backup + WAL", null, null, null, "full + up to " + DAYS + " days of WAL", null,
                    "full + up to " + DAYS + " days of WAL", null));
        } else {
            double walWeek = in.walBytesPerHour() * 24 * DAYS;
            long weekBytes = in.fullObjectBytes() + in.perBackupBytes() + Math.round(in.walStoredPerHour() * 24 * DAYS);
            // Recovery fetches and decompresses the WAL (counted) and replays it (not measured, not counted).
            double walRestore = plainRestore + walWeek / in.readBytesPerSecond();
            String reads = "full + up to " + DAYS + " days of WAL";
            rows.add(row("base backup + WAL", weekBytes, walRestore, reads, walRestore, reads, Math.round(walWeek)));
        }
        return rows;
    }

    /** Restoring today's data: every layer over the full is read, and the data (with the backup's WAL) is written once. */
    static double restoreSeconds(Inputs in, long layerContentBytes) {
        long written = in.dataBytes() + in.restoredWalBytes();
        return (written + layerContentBytes) / in.readBytesPerSecond() + written / in.writeBytesPerSecond();
    }

    private static Advice.Strategy row(String name, long weekBytes, double latest, String latestReads, double weekOld, String weekOldReads,
                                       Long walToReplay) {
        return new Advice.Strategy(name, Math.round(weekBytes / (double) DAYS), weekBytes, latest, latestReads, weekOld, weekOldReads,
                walToReplay);
    }
}
