package org.pgstrata.manifest;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalReader;

/**
 * The recoverable window of each timeline: from the consistency point of the oldest backup on
 * the way to it, to the end of the archived WAL on it, with the newest transaction time, the
 * named restore points and any gaps in between. Reads the archived WAL from the oldest backup on;
 * {@link #of} reads a damaged segment as a gap (the window ends before it) and names it.
 */
public final class RecoveryWindows {
    private RecoveryWindows() {
    }

    public static List<RecoveryWindow> of(Repository repo) throws IOException {
        return windows(repo, true);
    }

    /**
     * The windows as far as what {@code status} judges needs: the gaps (from the archive's
     * listing), the backups, and the newest transaction time ({@link
     * ArchiveTimelines#newestTransactionTime}, read backwards from the newest segment, and no
     * further back than the newest backup's start: null when none lies after it); each window's
     * latest LSN is the archive's end on its timeline, and no restore point is listed. Only the
     * newest WAL is read, not all that {@link #of} reads (and checks) from the oldest backup on,
     * whose time grows with the archive.
     */
    public static List<RecoveryWindow> tails(Repository repo) throws IOException {
        return windows(repo, false);
    }

    private static List<RecoveryWindow> windows(Repository repo, boolean readAll) throws IOException {
        List<Manifest> backups = repo.backups();
        WalArchive archive = new WalArchive(repo.storage());
        List<RecoveryWindow> result = new ArrayList<>();
        if (archive.isEmpty()) {
            // Without an archive each backup restores to its own point only.
            for (Manifest m : backups) {
                result.add(new RecoveryWindow(m.timeline(), m.stopLsn(), m.stopTime(), m.stopLsn(), m.stopTime(), List.of(m.id()),
                        List.of(), List.of(), List.of(), List.of()));
            }
            return result;
        }
        ArchiveTimelines tl = new ArchiveTimelines(archive);
        if (readAll) {
            tl.skippingDamage(); // a damaged segment ends the window as a gap does, and is named
        }
        for (int tli : tl.timelines()) {
            TimelineHistory path = tl.path(tli);
            List<Manifest> onPath = new ArrayList<>();
            for (Manifest m : backups) {
                if (path.descendsFrom(m.timeline()) && path.timelineAt(Lsn.parse(m.stopLsn())) == m.timeline()) {
                    onPath.add(m);
                }
            }
            if (onPath.isEmpty()) {
                continue;
            }
            // The window begins at the oldest backup that reaches its consistency point: one whose own WAL (start to stop) lost a
            // segment, or holds it damaged, restores to no point at all (restore refuses it, with the same check). Should none reach
            // it, the oldest. Gaps are listed from the oldest backup on all the same: the one in such a backup's WAL is a gap in the
            // archive (status counts it), and a damaged one is named as the scan names those it reads.
            long gapsFrom = Lsn.parse(onPath.get(0).startLsn()).segmentNumber(tl.segmentSize());
            List<RecoveryWindow.Unrestorable> unrestorable = new ArrayList<>();
            List<String> ownDamaged = new ArrayList<>();
            int first = 0;
            while (first < onPath.size()) {
                Manifest m = onPath.get(first);
                java.util.Optional<OwnWal.Problem> problem = OwnWal.check(archive, m, tl.segmentSize());
                if (problem.isEmpty()) {
                    break;
                }
                unrestorable(m, problem.get(), unrestorable, ownDamaged);
                first++;
            }
            // Likewise from the newest backup back: a segment of its own WAL lost at the archive's end is no gap between two
            // others, and the window listed the backup though no restore reaches its point.
            int upTo = onPath.size();
            while (first < onPath.size() && upTo - 1 > first) {
                Manifest m = onPath.get(upTo - 1);
                java.util.Optional<OwnWal.Problem> problem = OwnWal.check(archive, m, tl.segmentSize());
                if (problem.isEmpty()) {
                    break;
                }
                unrestorable(m, problem.get(), unrestorable, ownDamaged);
                upTo--;
            }
            onPath = onPath.subList(first == onPath.size() ? 0 : first, upTo);
            Manifest oldest = onPath.get(0);
            long from = Lsn.parse(oldest.startLsn()).segmentNumber(tl.segmentSize());
            List<String> points = new ArrayList<>();
            String[] lastTime = {null};
            WalReader.Visitor visitor = r -> {
                if (r.kind() == WalReader.Kind.RESTORE_POINT) {
                    points.add(r.restorePointName() + " at " + r.reportedEnd());
                }
                if ((r.kind() == WalReader.Kind.COMMIT || r.kind() == WalReader.Kind.ABORT) && r.time() != null) {
                    lastTime[0] = r.time().toString();
                }
                return true;
            };
            Lsn end;
            if (readAll) {
                // past a gap from the next backup's start, as restore --target latest goes: the gap is listed below
                end = tl.scanFrom(path, onPath, visitor);
            } else {
                end = tl.end(path);
                // Back to the newest backup's start at most: from there on its stop time is the newer point (status counts it).
                long newestStart = onPath.stream().mapToLong(m -> Lsn.parse(m.startLsn()).segmentNumber(tl.segmentSize())).max().orElse(from);
                java.time.Instant newest = tl.newestTransactionTime(path, newestStart);
                lastTime[0] = newest == null ? null : newest.toString();
            }
            long last = tl.lastSegment(path);
            java.util.TreeSet<String> damagedSet = new java.util.TreeSet<>(tl.takeDamagedSkipped());
            damagedSet.addAll(ownDamaged);
            List<String> damaged = new ArrayList<>(damagedSet);
            java.util.TreeMap<Long, String> gaps = new java.util.TreeMap<>();
            for (long g : tl.gaps(path, gapsFrom, Math.max(gapsFrom, last))) {
                gaps.put(g, tl.segmentName(path, g));
            }
            damaged.forEach(d -> gaps.put(org.pgstrata.postgres.WalFileName.segmentNumber(d, tl.segmentSize()), d));
            result.add(new RecoveryWindow(tli, oldest.stopLsn(), firstRestorableMicrosecond(oldest.stopTime()), end.toString(), lastTime[0],
                    onPath.stream().map(Manifest::id).toList(), points, new ArrayList<>(gaps.values()), damaged, unrestorable));
        }
        return result;
    }

    /** Records that backup {@code m} restores to no point: its own WAL has {@code p}. */
    private static void unrestorable(Manifest m, OwnWal.Problem p, List<RecoveryWindow.Unrestorable> unrestorable, List<String> ownDamaged) {
        unrestorable.add(new RecoveryWindow.Unrestorable(m.id(), p.segment(), p.fault().label()));
        if (p.fault() == OwnWal.Fault.DAMAGED) {
            ownDamaged.add(p.segment());
        }
    }

    /**
     * A backup's stop time (its machine's clock, to the nanosecond) rounded up to the microsecond:
     * the earliest time a restore accepts, which reads a target time to the microsecond as
     * PostgreSQL does; the stop time itself, cut down, lies before the backup's consistency point.
     */
    static String firstRestorableMicrosecond(String stopTime) {
        java.time.Instant t = java.time.Instant.parse(stopTime);
        java.time.Instant micros = t.truncatedTo(java.time.temporal.ChronoUnit.MICROS);
        return (micros.equals(t) ? t : micros.plus(1, java.time.temporal.ChronoUnit.MICROS)).toString();
    }
}
