package org.pgstrata.restore;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.Self;
import org.pgstrata.manifest.ArchiveTimelines;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.OwnWal;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.manifest.WalEntry;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalReader;

/**
 * Which backup to restore for a recovery target, why, and the recovery settings that reach it.
 * Targets by name and by transaction are looked up in the archived WAL (restore point and
 * commit records), so the backup is chosen by an exact position, not a guess; time and LSN
 * targets are checked against the archive's end before anything is written.
 */
record RecoveryPlan(Manifest backup, String reason, Map<String, String> settings, boolean archiveRecovery, Lsn targetLsn,
                    List<String> likelyChain, List<WalEntry> otherHistories, java.util.Set<String> unarchivedHistories, String warning) {

    RecoveryPlan(Manifest backup, String reason, Map<String, String> settings, boolean archiveRecovery, Lsn targetLsn) {
        this(backup, reason, settings, archiveRecovery, targetLsn, List.of(), List.of(), java.util.Set.of(), null);
    }

    /** This plan with a restore_command that names the repository by {@code walArguments} (a stanza) instead of its location. */
    RecoveryPlan withWalArguments(java.util.List<String> walArguments) {
        if (walArguments.isEmpty() || !settings.containsKey("restore_command") || settings.get("restore_command").equals("false")) {
            return this;
        }
        Map<String, String> s = new java.util.LinkedHashMap<>(settings);
        s.put("restore_command", restoreCommand(walArguments));
        return new RecoveryPlan(backup, reason, s, archiveRecovery, targetLsn, likelyChain, otherHistories, unarchivedHistories, warning);
    }

    /**
     * Where this recovery stops replaying: the target's position for a target by LSN, transaction,
     * restore point or consistency; null for one by time (found by the server) or the latest,
     * which replays WAL archived while it runs.
     */
    org.pgstrata.postgres.TablespaceCreations.Bound replayBound() {
        String key = targetKey();
        if (key == null || targetLsn == null) {
            return null;
        }
        // recovery_target_inclusive off: a target by LSN or transaction stops before its record
        boolean exclusive = "off".equals(settings.get("recovery_target_inclusive"))
                && (key.equals("recovery_target_lsn") || key.equals("recovery_target_xid"));
        return new org.pgstrata.postgres.TablespaceCreations.Bound(targetLsn, exclusive);
    }

    /** The setting that positions this recovery's target (recovery_target_lsn, _xid, _name, or recovery_target for immediate); null for none. */
    private String targetKey() {
        for (String key : List.of("recovery_target_lsn", "recovery_target_xid", "recovery_target_name")) {
            if (settings.containsKey(key)) {
                return key;
            }
        }
        return "immediate".equals(settings.get("recovery_target")) ? "recovery_target" : null;
    }

    /**
     * restore_command for the repository that {@code repoArguments} name, with this recovery's
     * bound: wal get then refuses a segment whose CREATE TABLESPACE, replayed, would write into
     * another cluster's tablespace, but not one past where recovery stops.
     */
    private String restoreCommand(List<String> repoArguments) {
        var bound = replayBound();
        List<String> args = new ArrayList<>(repoArguments);
        if (bound != null) {
            // With the target it comes from: a copy whose target is changed or taken out (to recover further) loses the bound
            String key = targetKey();
            args.addAll(List.of(bound.exclusive() ? "--replay-before" : "--replay-until", bound.lsn().toString(), "--replay-target",
                    key + "=" + settings.get(key)));
        }
        return Self.restoreCommand(args);
    }

    /**
     * The backups that {@code m}'s chain likely holds, by the references of the catalogue's
     * headers, for {@link org.pgstrata.manifest.Chain#load} to read side by side: a hint, which
     * the chain's own walk checks.
     */
    private static List<String> likelyChain(List<Manifest> backups, Manifest m) {
        Map<String, Manifest> byId = new java.util.HashMap<>();
        for (Manifest b : backups) {
            byId.put(b.id(), b);
        }
        List<String> chain = new java.util.ArrayList<>();
        for (String ref = m.reference(); ref != null && byId.containsKey(ref) && !chain.contains(ref) && chain.size() <= backups.size();
                ref = byId.get(ref).reference()) {
            chain.add(ref);
        }
        return chain;
    }

    private static final DateTimeFormatter PG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSx").withZone(ZoneOffset.UTC);

    static RecoveryPlan make(Repository repo, RecoveryTarget target, String backupId) {
        WalArchive histories = new WalArchive(repo.storage());
        if (target.type() == RecoveryTarget.Type.IMMEDIATE && backupId == null) {
            histories.listHistoriesAhead(); // the newest backup's timeline is judged by them, once the catalogue is read
        }
        Repository.Catalogue<Manifest> catalogue = repo.catalogue();
        RecoveryPlan plan;
        List<WalEntry> others;
        java.util.Set<String> unarchived = new java.util.HashSet<>();
        try {
            plan = build(repo, catalogue, target, backupId, histories);
            others = otherHistories(catalogue.backups(), plan);
            // A history the archive lacks is archived by the restored cluster when it archives (a delta restore in place keeps
            // archive_mode): the timeline it ends recovery on comes after it, and PostgreSQL's recovery_target_timeline 'latest'
            // follows timelines only while their numbers have no gap in the archive.
            WalArchive archive = new WalArchive(repo.storage());
            for (WalEntry w : others) {
                if (archive.find(w.name()).isEmpty()) {
                    unarchived.add(w.name());
                }
            }
        } catch (IOException e) {
            throw repo.io("read the WAL archive", e);
        }
        plan = new RecoveryPlan(plan.backup, plan.reason, plan.settings, plan.archiveRecovery, plan.targetLsn,
                likelyChain(catalogue.backups(), plan.backup), others, java.util.Set.copyOf(unarchived), plan.warning);
        if (plan.replayBound() != null && !"false".equals(plan.settings.get("restore_command"))) {
            plan.settings.put("restore_command", plan.restoreCommand(org.pgstrata.storage.StorageFactory.arguments(repo.location())));
        }
        return plan;
    }

    /**
     * The timeline history files that other backups of the repository hold and the restored one
     * does not, to be put into the copy's pg_wal. A copy started read-write ends recovery on the
     * timeline after the newest whose history file it finds (PostgreSQL probes 2, 3, ... in the
     * archive and in pg_wal). Without them, a copy restored from a backup on timeline 1 (a
     * restore_command that finds nothing, the WAL in the backup) took timeline 2 again although
     * another copy, restored before and backed up into this repository, was on its own timeline 2:
     * two pasts under one timeline number, and an incremental of the second built on the first's
     * backups as if they were its own (the WAL summaries then read the wrong past). Only where the
     * target timeline is not "latest", which would follow them.
     */
    private static List<WalEntry> otherHistories(List<Manifest> backups, RecoveryPlan plan) {
        if ("latest".equals(plan.settings.get("recovery_target_timeline"))) {
            return List.of();
        }
        java.util.Set<String> own = new java.util.HashSet<>();
        plan.backup.wal().forEach(w -> own.add(w.name()));
        Map<String, WalEntry> others = new java.util.TreeMap<>();
        for (Manifest b : backups) {
            for (WalEntry w : b.wal()) {
                if (WalFileName.isHistory(w.name()) && !own.contains(w.name())) {
                    others.putIfAbsent(w.name(), w);
                }
            }
        }
        return List.copyOf(others.values());
    }

    private static RecoveryPlan build(Repository repo, Repository.Catalogue<Manifest> catalogue, RecoveryTarget target, String backupId,
            WalArchive archive) throws IOException {
        List<Manifest> backups = catalogue.backups();
        Manifest chosen = backupId == null ? null : repo.manifest(backupId); // names a logical backup as such
        if (chosen == null) {
            // The newest backup, or the newest before a target: a manifest that cannot be read might be it.
            catalogue.requireNoDamage("choose the backup to restore",
                    "name an intact backup with --backup ID ('pgstrata list' shows which are damaged), or delete the damaged one");
        }
        if (backups.isEmpty() && !repo.logicalIds().isEmpty()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe() + " has no physical backups, only logical ones (pg_dump)",
                    "restore one into a running server with 'pgstrata restore --logical --repo " + repo.describe() + " --to-db NAME'");
        }
        if (backups.isEmpty()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe() + " has no backups",
                    "take one with 'pgstrata backup --repo " + repo.describe() + " --pgdata DIR --type full'");
        }

        if (target.type() == RecoveryTarget.Type.IMMEDIATE) {
            Manifest m = chosen != null ? chosen : newestOnLatestTimeline(archive, backups);
            String why = chosen != null ? "as asked" : "the newest backup";
            if (!m.walInArchive()) {
                // The WAL is in the backup (pg_wal): archive recovery without a restore_command reads it from there, stops at
                // the consistency point and promotes. So a restored copy that is started read-write begins a timeline of its
                // own, as PITR restores do, and can never pass for a continuation of the source (an incremental of the copy
                // into the source's repository is refused; see Reference#check).
                Map<String, String> s = new LinkedHashMap<>();
                // Archive recovery wants a restore_command: this one finds nothing (exit 1), so the WAL comes from pg_wal. It also
                // replaces any restore_command the source's configuration carried, which must not be followed.
                s.put("restore_command", "false");
                s.put("recovery_target", "immediate");
                s.put("recovery_target_action", "promote");
                s.put("recovery_target_timeline", "current");
                return new RecoveryPlan(m, "restoring backup " + m.id() + " (" + why + ") to its own consistency point " + m.stopLsn()
                        + "; started, it ends recovery there on a new timeline", s, true, Lsn.parse(m.stopLsn()));
            }
            Map<String, String> s = baseSettings(repo, "current", "promote");
            s.put("recovery_target", "immediate");
            return new RecoveryPlan(m, "restoring backup " + m.id() + " (" + why + ") to its own consistency point " + m.stopLsn()
                    + ", with its WAL from the archive", s, true, Lsn.parse(m.stopLsn()));
        }

        if (archive.isEmpty()) {
            throw new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "repository " + repo.describe()
                    + " has no WAL archive, so only each backup's own consistency point can be restored, not " + target.describe(),
                    "set up archiving with 'pgstrata wal setup --repo " + repo.describe() + " --pgdata DIR --apply', or restore without a target");
        }
        ArchiveTimelines tl = new ArchiveTimelines(archive);
        int targetTli = switch (target.timeline()) {
            case "latest" -> tl.latestTimeline();
            case "current" -> (chosen != null ? chosen : backups.get(backups.size() - 1)).timeline();
            default -> Integer.parseInt(target.timeline());
        };
        TimelineHistory path = tl.path(targetTli);
        List<Manifest> onPath = new ArrayList<>();
        for (Manifest m : backups) {
            // On the way to the target timeline: its timeline is on the path, and it ended before that timeline did.
            if (path.descendsFrom(m.timeline()) && path.timelineAt(Lsn.parse(m.stopLsn())) == m.timeline()) {
                onPath.add(m);
            }
        }
        if (onPath.isEmpty()) {
            String history = String.format("%08X.history", targetTli);
            if (targetTli > 1 && archive.find(history).isEmpty()) {
                // Not "no backup": without its history file a timeline's way back to the backups it forked from is unknown
                throw new PgstrataException(ErrorCode.WAL_MISSING, "timeline " + targetTli + " has no history file (" + history + ") in the archive of "
                        + repo.describe() + ", so the way from the backups to it is unknown",
                        "put " + history + " back (it is in pg_wal of the cluster that was promoted onto timeline " + targetTli
                                + "), or choose another --target-timeline");
            }
            throw new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "no backup in " + repo.describe() + " lies on the way to timeline " + targetTli,
                    "choose another --target-timeline");
        }
        Lsn archiveEnd = tl.end(path);
        // The WAL is searched for a time, transaction or name from the oldest backup that reaches its consistency point on, where
        // info's window begins: one whose own WAL lacks a segment or holds it damaged restores to no point, and reading from it
        // stopped every such restore at its damage (exit 15), even one to a target a later backup reaches.
        boolean searching = target.type() == RecoveryTarget.Type.TIME || target.type() == RecoveryTarget.Type.XID
                || (target.type() == RecoveryTarget.Type.NAME && chosen == null);
        List<Manifest> searched = searching ? restorable(archive, tl, onPath) : onPath;
        Manifest oldest = searched.get(0);
        // 'current' is resolved here, to the timeline whose history the target is looked up along: the backup chosen below can
        // lie on an earlier timeline of that history (before the fork), and PostgreSQL's 'current' would recover along that
        // backup's own timeline, reaching a name or LSN that the abandoned timeline also has, with no error.
        Map<String, String> s = baseSettings(repo, target.timeline().equals("current") ? Integer.toString(targetTli) : target.timeline(),
                target.action());
        String targetWord;
        String warning = null;
        Lsn position;
        switch (target.type()) {
            case LATEST -> {
                Manifest m = chosen != null ? chosen : onPath.get(onPath.size() - 1);
                checkContinuous(repo, tl, path, m, null, target);
                return new RecoveryPlan(m, "restoring backup " + m.id() + (chosen != null ? " (as asked)" : " (the newest on timeline " + targetTli
                        + ")") + " and replaying all archived WAL, up to " + archiveEnd, withoutAction(s), true, archiveEnd);
            }
            case LSN -> {
                position = Lsn.parse(target.value());
                if (archiveEnd.isBefore(position)) {
                    throw unreachable(target, "after the end of the archived WAL (" + archiveEnd + ")",
                            "choose a target up to " + archiveEnd + ", or archive more WAL first (pg_switch_wal)");
                }
                s.put("recovery_target_lsn", position.toString());
                targetWord = "LSN " + position;
            }
            case TIME -> {
                Instant named = RecoveryTarget.parseTime(target.value());
                boolean inclusive = target.inclusive();
                // In microseconds, as PostgreSQL's commit times are, rounded so that the same commits fall on each side: after a
                // time (inclusive) is after its microsecond cut down, at or after it (exclusive) is at or after it rounded up. Cut
                // down either way, an exclusive target just after a commit stopped before that commit.
                Instant t = named.truncatedTo(java.time.temporal.ChronoUnit.MICROS);
                if (!inclusive && t.isBefore(named)) {
                    t = t.plus(1, java.time.temporal.ChronoUnit.MICROS);
                }
                Instant at = t;
                // Where PostgreSQL stops: before the first transaction that ended after the target (at or after it, exclusive),
                // by the commit times in the WAL. A backup's stop time is the wall clock of the machine that took it, which can
                // lag the server's (or was set back since): a backup that "stopped before" the target may hold later commits.
                Lsn stop = findRecord(tl, path, searched, r -> endsTransaction(r)
                        && r.time() != null && (inclusive ? r.time().isAfter(at) : !r.time().isBefore(at)));
                if (stop == null) {
                    Instant lastCommit = lastCommitTime(tl, path, searched);
                    checkContinuous(repo, tl, path, oldest, null, target); // a hole would explain it better
                    throw unreachable(target, "not before the newest archived transaction (" + (lastCommit == null ? "none" : lastCommit) + ")",
                            "recovery by time stops at the first transaction after the target; choose an earlier time or --target latest");
                }
                s.put("recovery_target_time", PG_TIME.format(t));
                Manifest m = chosen;
                if (m == null) {
                    for (Manifest b : onPath) {
                        if (!Instant.parse(b.stopTime()).isAfter(t) && !stop.isBefore(Lsn.parse(b.stopLsn()))) {
                            m = b;
                        }
                    }
                }
                if (chosen != null && Instant.parse(chosen.stopTime()).isAfter(t)) {
                    throw unreachable(target, "before the consistency point of backup " + chosen.id() + " (at " + chosen.stopTime() + ")",
                            "leave out --backup to restore the newest backup before it");
                }
                if (m == null || Instant.parse(m.stopTime()).isAfter(t)) {
                    throw unreachable(target, "before the oldest backup's consistency point (backup " + oldest.id() + " at " + oldest.stopTime() + ")",
                            "choose a time after " + oldest.stopTime());
                }
                if (stop.isBefore(Lsn.parse(m.stopLsn()))) {
                    throw unreachable(target, "before the consistency point of backup " + m.id() + " (" + m.stopLsn() + "): a transaction that ended"
                            + " after the target lies before it (at " + stop + ")", "choose a later time, or leave out --backup");
                }
                putInclusive(s, target);
                checkContinuous(repo, tl, path, m, null, target);
                return new RecoveryPlan(m, "restoring backup " + m.id() + ": the newest whose consistency point (" + m.stopLsn()
                        + ") precedes time " + target.value() + " and the first transaction that ended after it (at " + stop + ")", s, true, null);
            }
            case XID -> {
                long xid = Long.parseUnsignedLong(target.value()) & 0xFFFFFFFFL;
                WalReader.Record ended = firstRecord(tl, path, searched, r -> endsTransaction(r) && r.xid() == xid);
                position = ended == null ? null : ended.lsn();
                if (position == null) {
                    checkContinuous(repo, tl, path, oldest, null, target);
                    // A row's xmin written inside a SAVEPOINT is a subtransaction's: its commit is the top-level transaction's
                    // record, which lists it, and PostgreSQL compares a target only with the xid that record belongs to.
                    WalReader.Record p = firstRecord(tl, path, searched,
                            r -> endsTransaction(r) && java.util.Arrays.stream(r.subxacts()).anyMatch(x -> x == xid));
                    if (p != null) {
                        throw unreachable(target, "a subtransaction of transaction " + p.xid() + ", which "
                                + (p.kind() == WalReader.Kind.COMMIT ? "committed" : "aborted") + " at " + p.lsn()
                                + "; recovery stops only at a top-level transaction's end",
                                "use --target-xid " + p.xid());
                    }
                    OffPath elsewhere = tl.timelines().size() > 1 ? endedOffPath(tl, path, searched, xid, null) : null;
                    if (elsewhere != null) {
                        throw unreachable(target, "not on timeline " + path.timeline() + "'s way through the archived WAL: it "
                                + elsewhere.ended(), "pass --target-timeline " + elsewhere.timeline());
                    }
                    throw unreachable(target, "not in the archived WAL (no commit or abort of it after the oldest backup)",
                            "check the transaction id (SELECT pg_current_xact_id() in that transaction)");
                }
                s.put("recovery_target_xid", Long.toString(xid));
                targetWord = "transaction " + target.value() + " (" + (ended.kind() == WalReader.Kind.COMMIT ? "commit" : "abort")
                        + " record at " + position + (tl.timelines().size() > 1 ? " on timeline " + path.timelineAt(position) : "") + ")";
                OffPath elsewhere = tl.timelines().size() > 1 ? endedOffPath(tl, path, searched, xid, position) : null;
                if (elsewhere != null) {
                    warning = "transaction " + target.value() + " also " + elsewhere.ended() + ": PostgreSQL gave the id again after the fork,"
                            + " and this restore stops at timeline " + path.timelineAt(position) + "'s (at " + position + "); for timeline "
                            + elsewhere.timeline() + "'s, pass --target-timeline " + elsewhere.timeline();
                }
            }
            case NAME -> {
                // the record's end: what pg_create_restore_point (and 'pgstrata restore-point') report, and where recovery stops
                // From --backup's start when one is named: PostgreSQL stops at the first restore point of that name it replays, and
                // a name used twice (a nightly one) is reached from a later backup at its later use.
                position = findRecord(tl, path, chosen == null ? searched : onPath.contains(chosen)
                        ? onPath.subList(onPath.indexOf(chosen), onPath.size()) : List.of(chosen), r -> r.kind() == WalReader.Kind.RESTORE_POINT && target.value().equals(r.restorePointName()),
                        true);
                if (position == null) {
                    checkContinuous(repo, tl, path, oldest, null, target);
                    throw unreachable(target, "not in the archived WAL after " + (chosen != null ? "backup " + chosen.id() + "'s start" : "the oldest backup"),
                            "create it with 'pgstrata restore-point NAME', or list names with 'pgstrata info'");
                }
                s.put("recovery_target_name", target.value());
                targetWord = "restore point '" + target.value() + "' (at " + position + ")";
            }
            default -> throw new IllegalStateException(target.type().toString());
        }
        putInclusive(s, target);
        Manifest m = chosen;
        if (m == null) {
            for (Manifest b : onPath) {
                if (!position.isBefore(Lsn.parse(b.stopLsn()))) {
                    m = b;
                }
            }
        }
        if (chosen != null && position.isBefore(Lsn.parse(chosen.stopLsn()))) {
            // Not "before the oldest backup": the backup asked for is later than the target, which an older one may reach
            throw unreachable(target, "at " + position + ", before the consistency point of backup " + chosen.id() + " (" + chosen.stopLsn() + ")",
                    "leave out --backup to restore the newest backup before it");
        }
        if (m == null || position.isBefore(Lsn.parse(m.stopLsn()))) {
            throw unreachable(target, "before the oldest backup's consistency point (backup " + oldest.id() + " at " + oldest.stopLsn() + ")",
                    "the archive cannot go back further than the oldest backup");
        }
        checkContinuous(repo, tl, path, m, position, target);
        if (target.type() == RecoveryTarget.Type.LSN) {
            checkRecordReaches(tl, path, position, target);
        }
        return new RecoveryPlan(m, "restoring backup " + m.id() + ": the newest whose consistency point (" + m.stopLsn() + ") precedes "
                + targetWord, s, true, position, List.of(), List.of(), java.util.Set.of(), warning);
    }

    /** Transaction {@code xid}'s end on another timeline of the archive, after that timeline parted from the restore's path at {@code fork}. */
    private record OffPath(int timeline, WalReader.Record record, Lsn fork) {
        String ended() {
            return (record.kind() == WalReader.Kind.COMMIT ? "committed" : "aborted") + " on timeline " + timeline + " (at " + record.lsn()
                    + ", after it parted from the restore's timeline at " + fork + ")";
        }
    }

    /**
     * PostgreSQL hands out again, on a timeline that a point-in-time restore began, the
     * transaction ids the abandoned timeline used after the fork: the same id names two
     * transactions, and recovery along {@code path} stops at this timeline's (or finds none). Where
     * transaction {@code xid} ended on another timeline of the archive after it left {@code path};
     * null when it did not, or when that WAL cannot be read (this is advice: the restore itself
     * never replays it). {@code endedOnPath} is its end on the path, or null: an end before the
     * fork is a transaction no timeline ends again.
     */
    private static OffPath endedOffPath(ArchiveTimelines tl, TimelineHistory path, List<Manifest> searched, long xid, Lsn endedOnPath) {
        Lsn from = Lsn.parse(searched.get(0).startLsn());
        for (int other : tl.timelines()) {
            try {
                if (other == path.timeline() || (other > 1 && tl.path(other).ancestors().isEmpty())) {
                    continue; // this one, or one whose way back is unknown (its history file is missing)
                }
                TimelineHistory otherPath = tl.path(other);
                Lsn fork = divergence(path, otherPath);
                if (fork == null || (endedOnPath != null && endedOnPath.isBefore(fork))) {
                    continue;
                }
                AtomicReference<WalReader.Record> found = new AtomicReference<>();
                tl.scan(otherPath, (fork.isBefore(from) ? from : fork).segmentNumber(tl.segmentSize()), r -> {
                    if (!r.lsn().isBefore(fork) && endsTransaction(r) && r.xid() == xid) {
                        found.set(r);
                        return false;
                    }
                    return true;
                });
                if (found.get() != null) {
                    return new OffPath(otherPath.timelineAt(found.get().lsn()), found.get(), fork);
                }
            } catch (IOException | RuntimeException e) {
                // a damaged or unreadable segment or history file of a timeline this restore does not replay
            }
        }
        return null;
    }

    /** The first WAL position where {@code a} and {@code b} lie on different timelines; null when they are the same way. */
    private static Lsn divergence(TimelineHistory a, TimelineHistory b) {
        List<TimelineHistory.Entry> x = a.ancestors();
        List<TimelineHistory.Entry> y = b.ancestors();
        int i = 0;
        while (i < x.size() && i < y.size() && x.get(i).equals(y.get(i))) {
            i++;
        }
        Lsn d = i < x.size() ? x.get(i).switchPoint() : null;
        if (i < y.size() && (d == null || y.get(i).switchPoint().isBefore(d))) {
            d = y.get(i).switchPoint();
        }
        return d;
    }

    /**
     * The newest backup on the way to the archive's latest timeline: after a point-in-time restore
     * that went back (and was promoted onto a new timeline, archiving here), a backup of the
     * abandoned timeline can have a higher stop LSN than the newer backups of the new one, and
     * restoring it brought back what the restore had undone. The newest by LSN when the archive
     * holds no timeline history, or when a backup lies on a timeline the archive does not know.
     */
    private static Manifest newestOnLatestTimeline(WalArchive archive, List<Manifest> backups) throws IOException {
        Manifest last = backups.get(backups.size() - 1);
        // No history file: the archive never saw a timeline switch (or is empty), so no backup lies on an abandoned one. One small
        // listing, where reading the archive's timelines lists every segment it holds.
        if (archive.histories().isEmpty()) {
            return last;
        }
        ArchiveTimelines tl = new ArchiveTimelines(archive);
        int latest = tl.latestTimeline();
        if (backups.stream().anyMatch(b -> b.timeline() > latest)) {
            return last;
        }
        TimelineHistory path = tl.path(latest);
        Manifest found = null;
        for (Manifest b : backups) {
            if (path.descendsFrom(b.timeline()) && path.timelineAt(Lsn.parse(b.stopLsn())) == b.timeline()) {
                found = b;
            }
        }
        return found != null ? found : last;
    }

    /**
     * Refuses a restore whose WAL has a hole between the backup and the target: recovery would
     * stop at the hole and promote there, silently short of the target.
     */
    private static void checkContinuous(Repository repo, ArchiveTimelines tl, TimelineHistory path, Manifest m, Lsn upTo, RecoveryTarget target)
            throws IOException {
        Lsn from = m.walInArchive() ? Lsn.parse(m.startLsn()) : Lsn.parse(m.stopLsn());
        long fromSeg = from.segmentNumber(tl.segmentSize());
        long toSeg = upTo == null ? tl.lastSegment(path) : new Lsn(Math.max(upTo.value(), 1) - 1).segmentNumber(tl.segmentSize());
        if (!m.walInArchive()) {
            fromSeg = new Lsn(from.value() - 1).segmentNumber(tl.segmentSize()) + 1;
        }
        List<Long> gaps = tl.gaps(path, fromSeg, toSeg);
        if (!gaps.isEmpty()) {
            String first = tl.segmentName(path, gaps.get(0));
            java.util.Optional<org.pgstrata.manifest.WalExpiry.Mark> mark = org.pgstrata.manifest.WalExpiry.read(repo.storage());
            if (mark.isPresent() && mark.get().covers(first)) {
                // Expire removed it after this restore read the catalogue: the backup went with it.
                throw new PgstrataException(ErrorCode.WAL_EXPIRED, "WAL segment " + first + ", which a restore of backup " + m.id()
                        + " needs, " + org.pgstrata.manifest.WalExpiry.MARKER + " (the archive keeps WAL from " + mark.get().before()
                        + " on); nothing was written", "restore a newer backup ('pgstrata list --repo " + repo.describe() + "')");
            }
            throw new PgstrataException(ErrorCode.WAL_MISSING, "WAL segment " + tl.segmentName(path, gaps.get(0))
                    + " is missing from the archive, between backup " + m.id() + " and " + target.describe()
                    + (gaps.size() > 1 ? " (" + gaps.size() + " segments missing in all)" : "") + "; recovery would stop there",
                    "run 'pgstrata verify' to see every gap; restore to a target before it, or put the segment back");
        }
    }

    private static void putInclusive(Map<String, String> s, RecoveryTarget target) {
        s.put("recovery_target_inclusive", target.inclusive() ? "on" : "off");
    }

    private static Map<String, String> withoutAction(Map<String, String> s) {
        s.remove("recovery_target_action");
        return s;
    }

    private static Map<String, String> baseSettings(Repository repo, String timeline, String action) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("restore_command", Self.restoreCommand(org.pgstrata.storage.StorageFactory.arguments(repo.location())));
        s.put("recovery_target_timeline", timeline);
        s.put("recovery_target_action", action);
        return s;
    }

    /**
     * Refuses an LSN target that no archived record reaches. PostgreSQL reaches it at the first
     * record that starts at or after it; after pg_switch_wal the archive ends at its segment's
     * end, with no record in the rest of the segment, and a target there passed the check against
     * the archive's end: recovery ran out of WAL ("recovery ended before configured recovery
     * target was reached"), and a restore without --start said nothing and left a copy that
     * failed at its first start. Reads from the target's segment until such a record (at once, for
     * any target but one in the last segment).
     */
    private static void checkRecordReaches(ArchiveTimelines tl, TimelineHistory path, Lsn position, RecoveryTarget target) throws IOException {
        AtomicReference<Lsn> lastStart = new AtomicReference<>();
        tl.scan(path, position.segmentNumber(tl.segmentSize()), r -> {
            lastStart.set(r.lsn());
            return r.lsn().isBefore(position);
        });
        Lsn last = lastStart.get();
        if (last == null || last.isBefore(position)) {
            throw unreachable(target, "after the last record of the archived WAL" + (last == null ? "" : " (which starts at " + last + ")")
                    + ", so recovery would end before reaching it", "choose a target up to " + (last == null ? "an earlier LSN" : last)
                    + ", or archive more WAL first (pg_switch_wal)");
        }
    }

    private static PgstrataException unreachable(RecoveryTarget target, String why, String hint) {
        return new PgstrataException(ErrorCode.TARGET_UNREACHABLE, "cannot restore to " + target.describe() + ": it is " + why, hint);
    }

    private static Instant lastCommitTime(ArchiveTimelines tl, TimelineHistory path, List<Manifest> from) throws IOException {
        AtomicReference<Instant> last = new AtomicReference<>();
        tl.scanFrom(path, from, r -> {
            if (endsTransaction(r) && r.time() != null) {
                last.set(r.time());
            }
            return true;
        });
        return last.get();
    }

    /**
     * {@code onPath} (oldest first) from the first backup whose own WAL the archive holds whole and intact ({@link OwnWal#check},
     * as restore checks the backup it restores); all of it when none does.
     */
    private static List<Manifest> restorable(WalArchive archive, ArchiveTimelines tl, List<Manifest> onPath) throws IOException {
        for (int i = 0; i < onPath.size(); i++) {
            if (OwnWal.check(archive, onPath.get(i), tl.segmentSize()).isEmpty()) {
                return onPath.subList(i, onPath.size());
            }
        }
        return onPath;
    }

    private static Lsn findRecord(ArchiveTimelines tl, TimelineHistory path, List<Manifest> from,
                                  java.util.function.Predicate<WalReader.Record> match) throws IOException {
        return findRecord(tl, path, from, match, false);
    }

    /**
     * The start of the first record that matches, read from the first of {@code from} (backups on
     * the path, oldest first) on, or with {@code end} its end (where recovery to a restore point stops).
     */
    private static Lsn findRecord(ArchiveTimelines tl, TimelineHistory path, List<Manifest> from,
                                  java.util.function.Predicate<WalReader.Record> match, boolean end) throws IOException {
        WalReader.Record r = firstRecord(tl, path, from, match);
        return r == null ? null : end ? r.reportedEnd() : r.lsn();
    }

    /** The first record that matches, read from the first of {@code from} (backups on the path, oldest first) on; null for none. */
    private static WalReader.Record firstRecord(ArchiveTimelines tl, TimelineHistory path, List<Manifest> from,
                                                java.util.function.Predicate<WalReader.Record> match) throws IOException {
        AtomicReference<WalReader.Record> found = new AtomicReference<>();
        tl.scanFrom(path, from, r -> {
            if (match.test(r)) {
                found.set(r);
                return false;
            }
            return true;
        });
        return found.get();
    }

    /** A commit or abort record: the end of a transaction, where an xid or time target can stop. */
    private static boolean endsTransaction(WalReader.Record r) {
        return r.kind() == WalReader.Kind.COMMIT || r.kind() == WalReader.Kind.ABORT;
    }
}

