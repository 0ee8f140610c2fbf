package org.pgstrata.cli;

import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "expire", description = {"Remove the backups that no retention rule keeps, then the WAL no kept backup needs.",
    "--retain-full N keeps the N newest full backups and every backup newer than the oldest of them;",
    "a full counts only when the repository holds its own WAL (start to stop) intact: one that does not",
    "restores to no point, and is kept but not counted, with a warning that names it;",
    "--retain-days D keeps every backup that stopped within D days, and the newest one before them (so",
    "that, with the WAL, any moment of those days restores). A backup either rule keeps stays, and so",
    "does the newest backup and every backup a kept one is built on, however old. Archived WAL from",
    "before the start of the oldest kept backup goes with them (timeline history files stay).",
    "--retain-logical N keeps the N newest logical fulls of each database with their differentials;",
    "without it, logical backups are untouched. Dependants go before what they are built on, each",
    "manifest first, so the repository stays valid if expire is interrupted; run it again to finish."})
final class ExpireCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--retain-full", paramLabel = "N", description = "Keep the N newest full backups (at least 1) and every backup newer than the oldest of them.")
    Integer retainFull;

    @Option(names = "--retain-days", paramLabel = "D", description = "Keep every backup that stopped in the last D days (at least 1), and the newest one before them.")
    Integer retainDays;

    @Option(names = "--retain-logical", paramLabel = "N", description = "Keep the N newest logical fulls of each database (at least 1) with their differentials.")
    Integer retainLogical;

    @Option(names = "--dry-run", description = "Say what would be removed, and remove nothing.")
    boolean dryRun;

    @Option(names = "--json", description = "Print {dryRun, removed: [{id, type, stopTime, reason}], kept: [...], bytesFreed, "
            + "walSegments, walOtherFiles, walBytes, walKeptFrom, leftovers: [ids of what a killed backup or an interrupted removal left], "
            + "warnings: [one line each, such as a full kept but not counted toward --retain-full]}.")
    boolean json;

    @Override
    int execute() {
        ExpireResult r = facade().expire(new ExpireRequest(repo.location(), retainFull, retainDays, retainLogical, dryRun));
        for (String w : r.warnings()) {
            warn(w);
        }
        if (json) {
            Output.json(out(), r);
            return 0;
        }
        String verb = r.dryRun() ? "would remove" : "removed";
        for (ExpireResult.Backup b : r.removed()) {
            out().println(verb + " " + b.id() + " (" + b.type() + ", stopped " + b.stopTime() + "): " + b.reason());
        }
        for (String left : r.leftovers()) {
            out().println(verb + " what a killed backup or an interrupted removal left of backup " + left
                    + " (no manifest, nothing reads its files)" + (r.dryRun() ? ", unless a backup still writes it" : ""));
        }
        StringBuilder summary = new StringBuilder(verb + " " + r.removed().size() + " backup(s)");
        if (!r.removed().isEmpty()) {
            summary.append(" (").append(Output.bytes(r.bytesFreed())).append(")");
        }
        if (r.walKeptFrom() != null) {
            summary.append(" and ").append(r.walSegments()).append(" WAL segment(s)");
            if (r.walOtherFiles() > 0) {
                summary.append(" with ").append(r.walOtherFiles()).append(" backup history file(s)");
            }
            summary.append(" before ").append(r.walKeptFrom()).append(" (").append(Output.bytes(r.walBytes())).append(")");
        }
        summary.append("; ").append(r.dryRun() ? "would keep " : "kept ").append(r.kept().size()).append(" backup(s) in ").append(repo.describe());
        if (r.dryRun()) {
            summary.append("; dry run: nothing was changed");
        }
        out().println(summary);
        return 0;
    }
}
