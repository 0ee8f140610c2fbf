package org.pgstrata.cli;

import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.BackupInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "list", description = {"List the backups in a repository, oldest first.",
    "reference is the backup an incr or diff is built on; chain lists every backup a restore of",
    "it reads, the full first (the table shortens a chain of more than four to its full, how many",
    "lie between, and its last two). --json prints an array of objects with the stable fields id, type,",
    "reference, chain, startLsn, stopLsn, startTime, stopTime, dataBytes and repositoryBytes, and",
    "database for logical backups (types logical-full and logical-diff: their LSNs are the snapshot's,",
    "and data is the size of pg_dump's output), and status: ok, or damaged for a backup whose",
    "manifest cannot be read (damaged, copied from another backup's place, or of another system;",
    "problem says which), listed last. An incr or diff also has changeSource (the column changes):",
    "wal-summary when it read only the blocks PostgreSQL's WAL summaries name, scan when it read",
    "every block and compared it with the backup it builds on. encrypted says whether the repository",
    "is encrypted (repo init --encrypt). lastDrill, for a backup that a drill restored, is its newest",
    "drill: time, result (passed, failed, or damaged: its record cannot be read), seconds, target, pgVersion, checks and findings."})
final class ListCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    /** Chains longer than this are shortened in the table: a daily incremental for a month would make every row hundreds of characters wide. */
    static final int CHAIN_SHOWN = 4;

    /**
     * The table's chain column: "-" for a backup that reads only itself; the whole chain when it
     * has at most {@link #CHAIN_SHOWN} backups; else its full, how many backups lie between, and
     * its last two (the reference and the backup itself). --json always has the whole chain.
     */
    static String chainCell(List<String> chain) {
        if (chain.size() <= 1) {
            return "-";
        }
        if (chain.size() <= CHAIN_SHOWN) {
            return String.join(" > ", chain);
        }
        int between = chain.size() - 3;
        return chain.get(0) + " > (" + between + " more) > " + chain.get(chain.size() - 2) + " > " + chain.get(chain.size() - 1);
    }

    @Override
    int execute() {
        var listing = facade().listing(repo.location());
        List<BackupInfo> backups = listing.backups();
        boolean encrypted = listing.encrypted();
        if (json) {
            List<java.util.Map<String, Object>> rows = new ArrayList<>();
            for (BackupInfo b : backups) {
                var m = new java.util.LinkedHashMap<String, Object>();
                m.put("id", b.id());
                m.put("type", b.type());
                m.put("reference", b.reference());
                m.put("chain", b.chain());
                m.put("startLsn", b.startLsn());
                m.put("stopLsn", b.stopLsn());
                m.put("startTime", b.startTime());
                m.put("stopTime", b.stopTime());
                m.put("dataBytes", b.dataBytes());
                m.put("repositoryBytes", b.repositoryBytes());
                if (b.database() != null) {
                    m.put("database", b.database());
                }
                if (b.changeSource() != null) {
                    m.put("changeSource", b.changeSource());
                }
                m.put("status", b.status());
                m.put("encrypted", encrypted);
                org.pgstrata.api.DrillRecord d = listing.lastDrill().get(b.id());
                if (d != null) {
                    var drill = new java.util.LinkedHashMap<String, Object>();
                    drill.put("time", d.startedAt());
                    drill.put("result", d.result());
                    drill.put("seconds", d.seconds());
                    drill.put("target", d.target());
                    drill.put("pgVersion", d.pgVersion());
                    drill.put("checks", d.checks());
                    drill.put("findings", d.findings());
                    m.put("lastDrill", drill);
                }
                if (b.problem() != null) {
                    m.put("problem", b.problem());
                }
                rows.add(m);
            }
            Output.json(out(), rows);
            return 0;
        }
        if (backups.isEmpty()) {
            out().println("no backups in " + repo.describe() + (encrypted ? " (encrypted)" : ""));
            return 0;
        }
        List<List<String>> rows = new ArrayList<>();
        for (BackupInfo b : backups) {
            if (b.isDamaged()) {
                rows.add(java.util.Arrays.asList(b.id(), "DAMAGED", "-", "-", "-", "-", "-", "-", b.problem(), "-", "-"));
                continue;
            }
            rows.add(java.util.Arrays.asList(b.id(), b.database() == null ? b.type() : b.type() + " (" + Output.name(b.database()) + ")", b.reference() == null ? "-" : b.reference(), b.startLsn(), b.stopLsn(),
                    b.stopTime(), Output.bytes(b.dataBytes()), Output.bytes(b.repositoryBytes()),
                    chainCell(b.chain()), b.changeSource() == null ? "-" : b.changeSource(),
                    lastDrill(listing.lastDrill().get(b.id()))));
        }
        // changes: how an incremental or differential found its changed blocks (scan, or wal-summary)
        Output.table(out(), List.of("id", "type", "reference", "start lsn", "stop lsn", "stop time", "data", "repository", "chain", "changes",
                "last drill"), rows);
        if (encrypted) {
            out().println("repository " + repo.describe() + " is encrypted");
        }
        out().println(provenLine(listing.lastProven()));
        long damaged = backups.stream().filter(BackupInfo::isDamaged).count();
        if (damaged > 0) {
            // Said on stderr too, so that a script reading the table is not the only one to know.
            warn(damaged + " backup(s) in " + repo.describe()
                    + " cannot be read (DAMAGED above): restores that would choose among the backups refuse until they are deleted");
        }
        return 0;
    }

    private static String lastDrill(org.pgstrata.api.DrillRecord d) {
        return d == null ? "-" : d.result() + " " + d.startedAt().replaceAll("\\.\\d+Z$", "Z");
    }

    /** The repository's line: which backup a drill last proved restorable, and when. */
    static String provenLine(org.pgstrata.Pgstrata.Proven p) {
        return p == null ? "last proven restorable: never (no drill has passed; run 'pgstrata drill')"
                : "last proven restorable: " + p.backupId() + " at " + p.time();
    }
}
