package org.pgstrata.cli;

import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.RecoveryWindow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "info", description = {"Show what a repository can restore.",
    "Per timeline: the earliest and latest restorable LSN and time, the backups and named restore points on the way, and any gaps.",
    "--json prints an array of {timeline, earliestLsn, earliestTime, latestLsn, latestTime, backups,",
    "restorePoints, gaps, damaged, unrestorable}: gaps are the segments recovery cannot pass, missing or damaged;",
    "damaged names those held but damaged (a warning says so; 'pgstrata verify' shows the damage);",
    "unrestorable names the backups the window leaves out (the oldest or the newest ones), as their own WAL lacks a segment or holds it damaged",
    "({backup, segment, problem}; a warning says so)."})
final class InfoCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Override
    int execute() {
        var info = facade().windows(repo.location());
        List<RecoveryWindow> windows = info.windows();
        if (!info.damaged().isEmpty()) {
            // Said on stderr, as list says it: the windows leave these out, and a restore to a target in them refuses until they go.
            warn(info.damaged().size() + " backup(s) in " + repo.describe()
                    + " cannot be read (" + String.join(", ", info.damaged()) + "): left out of the windows, and restores that would"
                    + " choose among the backups refuse until they are deleted (see 'pgstrata list')");
        }
        List<String> unrestorable = new ArrayList<>();
        java.util.Set<String> named = new java.util.HashSet<>();
        for (RecoveryWindow w : windows) {
            for (RecoveryWindow.Unrestorable u : w.unrestorable()) {
                unrestorable.add(u.backup() + " (segment " + u.segment() + " of its own WAL is " + u.problem() + ")");
                named.add(u.segment());
            }
        }
        if (!unrestorable.isEmpty()) {
            // The window begins after them: a restore of one of them refuses, as it cannot reach its consistency point.
            warn("backup(s) " + String.join(", ", unrestorable) + " in " + repo.describe()
                    + " cannot restore to any point: the windows hold only the backups that can (run 'pgstrata verify --repo "
                    + repo.describe() + "' to see the damage)");
        }
        java.util.Set<String> damagedWal = new java.util.TreeSet<>();
        windows.forEach(w -> damagedWal.addAll(w.damaged()));
        damagedWal.removeAll(named); // said above, with the backup it stops
        if (!damagedWal.isEmpty()) {
            // As for a damaged manifest: said on stderr, and the rest shown; verify is the command that judges damage (exit 15).
            warn("archived WAL segment(s) " + String.join(", ", damagedWal) + " in "
                    + repo.describe() + " are damaged: recovery cannot pass them, and the windows end before them as at a gap (run"
                    + " 'pgstrata verify --repo " + repo.describe() + "' to see the damage)");
        }
        if (json) {
            Output.json(out(), windows);
            return 0;
        }
        String encrypted = info.encrypted() ? "repository " + repo.describe() + " is encrypted" : null;
        if (windows.isEmpty() && info.logicalBackups() == 0) {
            out().println("nothing to restore in " + repo.describe() + " yet: no backups" + (encrypted != null ? " (encrypted)" : ""));
            return 0;
        }
        if (windows.isEmpty()) {
            // Logical backups restore whole, to their snapshot: no window to show, but the repository is not empty.
            out().println("no physical backup in " + repo.describe() + ", so no point in time to recover to; "
                    + info.logicalBackups() + " logical backup(s) (pg_dump) restore whole: see 'pgstrata list', "
                    + "and 'pgstrata restore --logical'" + (encrypted != null ? " (encrypted)" : ""));
            out().println(ListCommand.provenLine(info.lastProven()));
            return 0;
        }
        List<List<String>> rows = new ArrayList<>();
        for (RecoveryWindow w : windows) {
            rows.add(java.util.Arrays.asList(Integer.toString(w.timeline()), w.earliestLsn(), w.earliestTime(), w.latestLsn(),
                    w.latestTime(), Integer.toString(w.backups().size()), w.gaps().isEmpty() ? "none"
                    : String.join(" ", w.gaps().stream().map(g -> w.damaged().contains(g) ? g + "(damaged)" : g).toList())));
        }
        Output.table(out(), List.of("timeline", "earliest lsn", "earliest time", "latest lsn", "latest transaction", "backups", "gaps"), rows);
        for (RecoveryWindow w : windows) {
            for (String p : w.restorePoints()) {
                out().println("timeline " + w.timeline() + ": restore point " + p);
            }
        }
        out().println(ListCommand.provenLine(info.lastProven()));
        if (encrypted != null) {
            out().println(encrypted);
        }
        return 0;
    }
}
