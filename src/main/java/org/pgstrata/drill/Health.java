package org.pgstrata.drill;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.manifest.OwnWal;

/**
 * Whether a repository is fit to restore from, judged as a monitoring check (pgstrata status):
 * a pure function of what the repository holds (its backups, the newest drill of each, the
 * newest drill that passed, its recovery windows), the time now and the limits. Each check has a
 * severity; the worst one is the repository's status, with Nagios's exit codes.
 *
 * <ul>
 *   <li>backup-age: CRITICAL when there is no intact backup that restores, or the newest one
 *       (physical or logical, by stop time, except that no physical backup counts as older than
 *       one in its own past: {@link #newest}) stopped longer ago than the limit; a backup whose
 *       own WAL the archive lacks is named, not counted;</li>
 *   <li>damaged-backups: WARNING when a backup's manifest cannot be read;</li>
 *   <li>last-drill: CRITICAL when the newest drill of the repository failed;</li>
 *   <li>drill-age: WARNING when no drill passed within the limit (never counts);</li>
 *   <li>archive-gaps: CRITICAL when a segment is missing from the archived WAL (a gap, or a
 *       segment of a backup's own WAL lost at the archive's end), or an archived file is damaged
 *       (then the archive-lag check is skipped);</li>
 *   <li>archive-lag: WARNING when the newest archived point is older than the limit.</li>
 * </ul>
 * A repository that archives no WAL skips the archive checks; a limit of zero skips its check.
 * A time more than {@link #CLOCK_SKEW} ahead of now makes its check (backup-age, last-drill,
 * drill-age, archive-lag) a WARNING that says so, instead of an age of zero.
 */
public final class Health {
    private Health() {
    }

    /** The repository's status, with the exit code a Nagios plugin gives it. */
    public enum Status {
        OK, WARNING, CRITICAL, UNKNOWN;

        public int exitCode() {
            return ordinal();
        }

        /** As JSON and the text output say it: ok, warning, critical, unknown. */
        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One check's outcome. A skipped check did not run (its limit is zero, or there is nothing to measure). */
    public enum Severity {
        OK(0), SKIPPED(0), WARNING(1), CRITICAL(2);

        private final int level;

        Severity(int level) {
            this.level = level;
        }

        /** 0 for ok and skipped, 1 for warning, 2 for critical: its share of the repository's status. */
        public int level() {
            return level;
        }

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** How old things may be; {@link Duration#ZERO} turns that check off. */
    public record Limits(Duration maxBackupAge, Duration maxDrillAge, Duration maxArchiveLag) {
        public static final Limits DEFAULT = new Limits(Duration.ofHours(26), Duration.ofDays(8), Duration.ofHours(1));

        public Limits {
            for (Duration d : new Duration[] {maxBackupAge, maxDrillAge, maxArchiveLag}) {
                if (d == null || d.isNegative()) {
                    throw new IllegalArgumentException("a limit must be zero (off) or positive, not " + d);
                }
            }
        }
    }

    /**
     * What the repository holds, as the facade lists it.
     *
     * @param repository      the repository as messages name it
     * @param backups         every backup, damaged ones included ({@code list})
     * @param lastDrill       the newest drill of each backup that was drilled, by backup id
     * @param provenBackupId  the backup of the newest drill that passed (null: none ever did)
     * @param provenTime      when that drill began (ISO-8601)
     * @param archived        whether the repository holds archived WAL at all
     * @param windows         the recovery windows when it does (empty otherwise)
     * @param archiveDamage   what a damaged archived file said when the windows could not be read for it (null: none)
     * @param physicalOrder   the ids of the physical backups, oldest first as expire and restore order them: a
     *                        backup never comes before one in its own past, whatever the stop times say
     */
    public record Facts(String repository, List<BackupInfo> backups, Map<String, DrillRecord> lastDrill, String provenBackupId,
                        String provenTime, boolean archived, List<RecoveryWindow> windows, String archiveDamage,
                        List<String> physicalOrder) {
        public Facts {
            physicalOrder = List.copyOf(physicalOrder);
            backups = List.copyOf(backups);
            lastDrill = Map.copyOf(lastDrill);
            windows = List.copyOf(windows);
        }
    }

    /**
     * One check: its name (a stable word, also Prometheus's label), severity, a sentence with the
     * measured value and the limit, the value (seconds or a count; null when there is nothing to
     * measure) and the limit it was held to (seconds or a count; null when there is none).
     */
    public record Check(String name, Severity severity, String message, Long value, Long threshold) {
    }

    public record Backup(String id, String stopTime) {
    }

    public record Drill(String backupId, String time, String result) {
    }

    public record Proven(String backupId, String time) {
    }

    /**
     * The judgement: the status (the worst check), each check in a fixed order, what it was
     * judged on, and the measurements a metrics file exports.
     *
     * @param newestBackup            the newest intact backup (null: none)
     * @param lastDrill               the newest drill of a backup still present (null: never drilled)
     * @param lastProven              the newest drill that passed (null: never)
     * @param backups                 how many intact backups there are
     * @param newestBackupAgeSeconds  how long ago the newest intact backup stopped (null: none)
     * @param lastProvenAgeSeconds    how long ago the newest drill that passed began (null: never)
     * @param archiveGaps             segments missing from the archived WAL
     * @param archiveLagSeconds       how old the newest archived point is (null: no archived WAL to measure)
     */
    public record Result(Status status, String repository, List<Check> checks, Backup newestBackup, Drill lastDrill, Proven lastProven,
                         int backups, Long newestBackupAgeSeconds, Long lastProvenAgeSeconds, int archiveGaps, Long archiveLagSeconds) {
        public Result {
            checks = List.copyOf(checks);
        }

        /** The checks of the worst severity, when that is warning or critical (empty when all is well). */
        public List<Check> worst() {
            int worst = checks.stream().mapToInt(c -> c.severity().level()).max().orElse(0);
            return worst == 0 ? List.of() : checks.stream().filter(c -> c.severity().level() == worst).toList();
        }
    }

    /** A backup that cannot be restored for want of its own WAL, and the timeline whose window said so. */
    private record Unrestorable(RecoveryWindow.Unrestorable what, int timeline) {
    }

    /** Judges {@code facts} at {@code clock}'s now by {@code limits}. */
    public static Result evaluate(Facts facts, Clock clock, Limits limits) {
        Instant now = clock.instant();
        List<Check> checks = new ArrayList<>();

        // The newest intact backup, physical or logical, that restores: one whose own WAL the archive lacks restores to no point.
        List<BackupInfo> intact = facts.backups().stream().filter(b -> !b.isDamaged()).toList();
        Map<String, Unrestorable> unrestorable = new java.util.LinkedHashMap<>();
        for (RecoveryWindow w : facts.windows()) {
            for (RecoveryWindow.Unrestorable u : w.unrestorable()) {
                unrestorable.putIfAbsent(u.backup(), new Unrestorable(u, w.timeline()));
            }
        }
        BackupInfo newest = newest(intact.stream().filter(b -> !unrestorable.containsKey(b.id())).toList(), facts.physicalOrder());
        BackupInfo newestIntact = newest(intact, facts.physicalOrder());
        String newerUnrestorable = newestIntact == null || newestIntact == newest ? ""
                : "; " + newestIntact.id() + ", newer, cannot be restored (WAL segment " + unrestorable.get(newestIntact.id()).what().segment()
                        + " of its own is " + unrestorable.get(newestIntact.id()).what().problem() + ")";
        // A damaged backup may be the newest (one that lost its manifest has no stop time to tell): the one counted is the newest readable.
        String theNewest = intact.size() < facts.backups().size() ? "the newest readable backup, " : "the newest backup, ";
        Long backupAge = newest == null ? null : age(now, instant(newest.stopTime()));
        Long backupLimit = seconds(limits.maxBackupAge());
        if (newest == null) {
            checks.add(new Check("backup-age", Severity.CRITICAL, (newestIntact == null ? "no backup" : "no backup that restores")
                    + ": nothing to restore (run 'pgstrata backup')" + newerUnrestorable, null, backupLimit));
        } else if (backupLimit != null && ahead(now, instant(newest.stopTime())) != null) {
            checks.add(new Check("backup-age", Severity.WARNING, theNewest + newest.id() + ", stopped at " + newest.stopTime()
                    + ", " + ahead(now, instant(newest.stopTime())) + newerUnrestorable, backupAge, backupLimit));
        } else if (backupLimit == null) {
            checks.add(new Check("backup-age", Severity.SKIPPED, theNewest + newest.id() + ", stopped " + human(backupAge)
                    + " ago; its age is not checked (--max-backup-age 0)" + newerUnrestorable, backupAge, null));
        } else {
            boolean old = backupAge > backupLimit;
            checks.add(new Check("backup-age", old ? Severity.CRITICAL : Severity.OK, theNewest + newest.id() + ", stopped "
                    + human(backupAge) + " ago" + (old ? ", longer than " : ", within ") + human(backupLimit) + " (--max-backup-age)"
                    + newerUnrestorable, backupAge, backupLimit));
        }

        List<BackupInfo> damaged = facts.backups().stream().filter(BackupInfo::isDamaged).toList();
        checks.add(damaged.isEmpty()
                ? new Check("damaged-backups", Severity.OK, "none of the " + intact.size() + " backup(s) is damaged", 0L, 0L)
                : new Check("damaged-backups", Severity.WARNING, damaged.size() + " backup(s) cannot be read: "
                        + String.join(", ", damaged.stream().map(BackupInfo::id).toList()) + " ('pgstrata list' says why)",
                        (long) damaged.size(), 0L));

        // The newest drill over every backup still present: failed is critical, whichever backup it was.
        Set<String> present = new java.util.HashSet<>(facts.backups().stream().map(BackupInfo::id).toList());
        DrillRecord last = facts.lastDrill().entrySet().stream().filter(e -> present.contains(e.getKey())).map(Map.Entry::getValue)
                .filter(d -> instantOrNull(d.startedAt()) != null)
                .max(Comparator.comparing(d -> instant(d.startedAt()))).orElse(null);
        if (last == null) {
            checks.add(new Check("last-drill", Severity.SKIPPED, "no backup was ever drilled", null, null));
        } else {
            long drillAge = age(now, instant(last.startedAt()));
            String future = ahead(now, instant(last.startedAt()));
            if (last.passed() && future != null) {
                // A record from the future stays the newest: it would hide every drill recorded after it, failed ones too.
                checks.add(new Check("last-drill", Severity.WARNING, "the newest drill, of " + last.backupId() + ", passed and began at "
                        + last.startedAt() + ", " + future + "; a drill recorded since may be hidden behind it", drillAge, null));
            } else if (last.passed()) {
                checks.add(new Check("last-drill", Severity.OK, "the newest drill, of " + last.backupId() + ", began " + human(drillAge)
                        + " ago and passed", drillAge, null));
            } else {
                String finding = last.findings().isEmpty() ? "" : ": " + abbreviate(last.findings().get(0), 200);
                checks.add(new Check("last-drill", Severity.CRITICAL, "the newest drill, of " + last.backupId() + ", began " + human(drillAge)
                        + " ago and " + (DrillRecord.DAMAGED.equals(last.result()) ? "its record is damaged" : "failed") + finding + " ('pgstrata list --json' shows its findings)", drillAge, null));
            }
        }

        Instant provenAt = facts.provenBackupId() == null ? null : instantOrNull(facts.provenTime());
        Long provenAge = provenAt == null ? null : age(now, provenAt);
        Long drillLimit = seconds(limits.maxDrillAge());
        if (drillLimit == null) {
            checks.add(new Check("drill-age", Severity.SKIPPED, (provenAge == null ? "no drill has passed yet"
                    : "a drill of " + facts.provenBackupId() + " passed " + human(provenAge) + " ago")
                    + "; its age is not checked (--max-drill-age 0)", provenAge, null));
        } else if (provenAge != null && ahead(now, provenAt) != null) {
            checks.add(new Check("drill-age", Severity.WARNING, "the newest drill that passed, of " + facts.provenBackupId() + ", began at "
                    + facts.provenTime() + ", " + ahead(now, provenAt), provenAge, drillLimit));
        } else if (provenAge == null) {
            checks.add(new Check("drill-age", Severity.WARNING, "no backup was ever proven restorable: no drill has passed"
                    + " (limit " + human(drillLimit) + ", --max-drill-age; run 'pgstrata drill')", null, drillLimit));
        } else {
            boolean old = provenAge > drillLimit;
            checks.add(new Check("drill-age", old ? Severity.WARNING : Severity.OK, "the newest drill that passed, of "
                    + facts.provenBackupId() + ", began " + human(provenAge) + " ago" + (old ? ", longer than " : ", within ")
                    + human(drillLimit) + " (--max-drill-age)" + (old ? "; run 'pgstrata drill'" : ""), provenAge, drillLimit));
        }

        int gaps = 0;
        Long lag = null;
        if (!facts.archived()) {
            String why = "no WAL is archived in this repository: the archive is not checked";
            checks.add(new Check("archive-gaps", Severity.SKIPPED, why, null, null));
            checks.add(new Check("archive-lag", Severity.SKIPPED, why, null, null));
        } else if (facts.archiveDamage() != null) {
            gaps = 1;
            checks.add(new Check("archive-gaps", Severity.CRITICAL, "the archived WAL is damaged: " + abbreviate(facts.archiveDamage(), 300)
                    + "; no restore can recover across it; run 'pgstrata verify --repo " + facts.repository() + "'", 1L, 0L));
            checks.add(new Check("archive-lag", Severity.SKIPPED, "the archived WAL could not be read past its damage: its lag is not measured",
                    null, seconds(limits.maxArchiveLag())));
        } else if (facts.windows().isEmpty()) {
            String why = "no physical backup to measure the archived WAL from: the archive is not checked";
            checks.add(new Check("archive-gaps", Severity.SKIPPED, why, null, null));
            checks.add(new Check("archive-lag", Severity.SKIPPED, why, null, null));
        } else {
            List<String> missing = new ArrayList<>();
            Set<String> listed = new java.util.HashSet<>();
            boolean anyDamaged = false;
            for (RecoveryWindow w : facts.windows()) {
                for (String g : w.gaps()) {
                    missing.add(g + " (timeline " + w.timeline() + (w.damaged().contains(g) ? ", damaged)" : ")"));
                    listed.add(g);
                    anyDamaged |= w.damaged().contains(g);
                }
            }
            // A segment of a backup's own WAL lost at the archive's end is no gap between two others, but missing all the same:
            // no restore reaches that backup's point. (One that expire removed went with the backups that needed it.)
            unrestorable.values().stream().filter(u -> u.what().problem().equals(OwnWal.Fault.MISSING.label()) && listed.add(u.what().segment()))
                    .forEach(u -> missing.add(u.what().segment() + " (timeline " + u.timeline() + ", which backup "
                            + u.what().backup() + " needs to reach its consistency point)"));
            gaps = missing.size();
            checks.add(missing.isEmpty()
                    ? new Check("archive-gaps", Severity.OK, "no gap in the archived WAL", 0L, 0L)
                    : new Check("archive-gaps", Severity.CRITICAL, missing.size() + " WAL segment(s) missing from the archive"
                            + (anyDamaged ? " or damaged: " : ": ")
                            + abbreviate(String.join(", ", missing), 300) + "; no restore can recover across them", (long) gaps, 0L));

            Instant newestPoint = newestArchivedPoint(facts.windows(), intact, facts.physicalOrder());
            lag = newestPoint == null ? null : age(now, newestPoint);
            Long lagLimit = seconds(limits.maxArchiveLag());
            if (lag == null) {
                checks.add(new Check("archive-lag", Severity.SKIPPED, "the archived WAL names no time to measure its lag by", null, lagLimit));
            } else if (lagLimit != null && ahead(now, newestPoint) != null) {
                checks.add(new Check("archive-lag", Severity.WARNING, "the newest archived point is " + newestPoint + ", "
                        + ahead(now, newestPoint), lag, lagLimit));
            } else if (lagLimit == null) {
                checks.add(new Check("archive-lag", Severity.SKIPPED, "the newest archived point is " + human(lag)
                        + " old; its lag is not checked (--max-archive-lag 0)", lag, null));
            } else {
                boolean old = lag > lagLimit;
                checks.add(new Check("archive-lag", old ? Severity.WARNING : Severity.OK, "the newest archived point is " + human(lag) + " old"
                        + (old ? ", older than " : ", within ") + human(lagLimit) + " (--max-archive-lag)"
                        + (old ? "; check archive_command (pgstrata check), or the database was idle that long" : ""), lag, lagLimit));
            }
        }

        int worst = checks.stream().mapToInt(c -> c.severity().level()).max().orElse(0);
        Status status = Status.values()[worst];
        Drill lastDrill = last == null ? null : new Drill(last.backupId(), last.startedAt(), last.result());
        Proven proven = facts.provenBackupId() == null ? null : new Proven(facts.provenBackupId(), facts.provenTime());
        return new Result(status, facts.repository(), checks, newest == null ? null : new Backup(newest.id(), newest.stopTime()), lastDrill, proven,
                intact.size(), backupAge, provenAge, gaps, lag);
    }

    /**
     * The newest moment the archived WAL reaches, as far as its content tells: the newest
     * transaction in it, or the stop of a backup on one of its timelines when that is newer (a
     * backup's WAL is archived before the backup counts).
     */
    static Instant newestArchivedPoint(List<RecoveryWindow> windows, List<BackupInfo> intact, List<String> physicalOrder) {
        Map<String, BackupInfo> byId = new java.util.HashMap<>();
        intact.forEach(b -> byId.put(b.id(), b));
        Instant newest = null;
        for (RecoveryWindow w : windows) {
            List<Instant> points = new ArrayList<>();
            points.add(instantOrNull(w.latestTime()));
            // Of the window's backups, the newest in WAL order: an older one's stop lies before it in the WAL, whatever its
            // stop time says (a clock set back between them).
            List<BackupInfo> inWindow = w.backups().stream().map(byId::get).filter(Objects::nonNull).toList();
            BackupInfo b = newest(inWindow, physicalOrder);
            points.add(b == null ? null : instantOrNull(b.stopTime()));
            for (Instant p : points) {
                if (p != null && (newest == null || p.isAfter(newest))) {
                    newest = p;
                }
            }
        }
        return newest;
    }

    /**
     * The newest of {@code backups}. Physical backups go by {@code physicalOrder} (a backup is
     * never older than one in its own past, whatever the stop times say: a clock set back between
     * two backups gives the newer one the earlier stop time); a logical backup is newer than the
     * newest physical one when it stopped after that one and every physical backup before it.
     */
    static BackupInfo newest(List<BackupInfo> backups, List<String> physicalOrder) {
        Map<String, Integer> rank = new java.util.HashMap<>();
        for (int i = 0; i < physicalOrder.size(); i++) {
            rank.put(physicalOrder.get(i), i);
        }
        BackupInfo physical = null;
        BackupInfo logical = null;
        for (BackupInfo b : backups) {
            if (b.logical() || !rank.containsKey(b.id())) {
                if (logical == null || instant(b.stopTime()).isAfter(instant(logical.stopTime()))) {
                    logical = b;
                }
            } else if (physical == null || rank.get(b.id()) > rank.get(physical.id())) {
                physical = b;
            }
        }
        if (physical == null || logical == null) {
            return physical != null ? physical : logical;
        }
        Instant physicalTime = instant(physical.stopTime());
        for (BackupInfo b : backups) { // the newest stop time up to the newest physical backup, as expire orders them
            Integer r = b.logical() ? null : rank.get(b.id());
            if (r != null && r <= rank.get(physical.id()) && instant(b.stopTime()).isAfter(physicalTime)) {
                physicalTime = instant(b.stopTime());
            }
        }
        return instant(logical.stopTime()).isAfter(physicalTime) ? logical : physical;
    }

    /** How far ahead of now a time may be before a clock counts as wrong: clocks that disagree a little are no problem. */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

    /**
     * Null when {@code then} is not in the future (or no more than {@link #CLOCK_SKEW} ahead); else
     * says how far ahead it is. Ages are measured from now, and the newest drill is the latest by
     * its time, so a time from the future is neither an age nor an order to trust: a check would
     * say "0s ago" and go on saying it, while it hides whatever was recorded after it.
     */
    static String ahead(Instant now, Instant then) {
        if (then == null || !then.isAfter(now.plus(CLOCK_SKEW))) {
            return null;
        }
        return "dated " + human(Duration.between(now, then).getSeconds()) + " ahead of this machine's clock: one of the clocks"
                + " (this machine's, the database server's, or that of the machine that recorded it) is wrong, so its age cannot be judged";
    }

    /** Seconds from {@code then} to {@code now}; zero when {@code then} is ahead (clocks that disagree a little). */
    private static long age(Instant now, Instant then) {
        return Math.max(0, Duration.between(then, now).getSeconds());
    }

    /** A limit in seconds, null when it is off. */
    private static Long seconds(Duration limit) {
        return limit.isZero() ? null : Math.max(1, limit.getSeconds());
    }

    private static Instant instant(String iso) {
        return Objects.requireNonNullElse(instantOrNull(iso), Instant.EPOCH);
    }

    private static Instant instantOrNull(String iso) {
        if (iso == null) {
            return null;
        }
        try {
            return Instant.parse(iso);
        } catch (DateTimeParseException e) {
            try {
                return java.time.OffsetDateTime.parse(iso).toInstant();
            } catch (DateTimeParseException e2) {
                return null;
            }
        }
    }

    /** A duration as people say it: the two largest units (3d 4h, 2h 5m, 45s). */
    public static String human(long seconds) {
        long[] sizes = {86_400, 3_600, 60, 1};
        String[] units = {"d", "h", "m", "s"};
        StringBuilder sb = new StringBuilder();
        long rest = seconds;
        int shown = 0;
        for (int i = 0; i < sizes.length && shown < 2; i++) {
            long n = rest / sizes[i];
            rest %= sizes[i];
            if (n > 0 || shown > 0) {
                if (n > 0) {
                    sb.append(sb.length() > 0 ? " " : "").append(n).append(units[i]);
                }
                shown++;
            }
        }
        return sb.length() == 0 ? "0s" : sb.toString();
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }
}
