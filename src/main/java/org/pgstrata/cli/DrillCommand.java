package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.drill.Drill;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "drill", description = {
    "Prove that a backup restores: a restore drill, recorded in the repository.",
    "Restores the backup (the newest, --backup, --steps-back, or the one a recovery target needs)",
    "into a scratch directory, starts it with binaries of its major on a socket of its own (no TCP",
    "address, never the source's port), waits until it accepts read-write queries, then checks it:",
    "pg_control against the manifest (system, major, recovery past the backup's consistency point),",
    "amcheck on every table (verify_heapam, TOAST followed) and every B-tree index (heapallindexed;",
    "GIN too on PostgreSQL 18) of every database, and every table read to its last row and column.",
    "The copy is stopped and removed afterwards, also after a failure or Ctrl-C; what a killed drill",
    "left is removed by the next drill (and by verify), which names it. The outcome (time, duration,",
    "target, result, checks, findings, PostgreSQL version) is recorded in the repository; list and",
    "info show when each backup was last proven, status warns when that is too long ago.",
    "A logical backup (--backup ID of one) is restored, with its full for a differential, into a",
    "scratch cluster of its major and checked the same way. The checks connect as PGUSER (else",
    "postgres), which must be a superuser of the backed-up cluster (exit 20 if it is not, once the copy",
    "runs and before any check, nothing recorded). Exit code 49 when the drill found a",
    "problem (recorded as failed); other codes when it could not run (nothing recorded)."})
final class DrillCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--backup", paramLabel = "ID", description = "Drill this backup (default: the newest, or the one the target needs; "
            + "the newest logical one in a repository without physical backups).")
    String backup;

    @Option(names = "--steps-back", paramLabel = "N", description = "Drill the backup N steps before the newest (0 = the newest).")
    Integer stepsBack;

    @Option(names = "--all", description = "Drill every backup in the repository (physical and logical), oldest first, each recorded on its own; "
            + "a damaged one (its manifest cannot be read) is a failed drill; one that delete or expire removes meanwhile is skipped, with a warning.")
    boolean all;

    @Mixin
    RecoveryTargetOptions targets;

    @Option(names = "--scratch-dir", paramLabel = "DIR", description = "Where the scratch copy goes (it needs the room a restore takes; "
            + "default: pgstrata-drills-USER in TMPDIR).")
    Path scratch;

    @Option(names = "--pg-bin", paramLabel = "DIR", description = "Binaries to start the copy with (default: PGSTRATA_PG_BIN, else bundled).")
    Path pgBin;

    @Option(names = "--jobs", paramLabel = "N", converter = Jobs.class,
            description = "Files restored in parallel (1 to 256; default: the number of cores).")
    Integer jobs;

    @Option(names = "--start-timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "Give up when the copy's start and recovery show no progress for this long (default: ${DEFAULT-VALUE}).")
    int startTimeout;

    @Option(names = "--json", description = "Print the drill's record (with --all: a list of them) as JSON.")
    boolean json;

    @Override
    int execute() {
        int chosen = (backup != null ? 1 : 0) + (stepsBack != null ? 1 : 0) + (all ? 1 : 0);
        if (chosen > 1) {
            throw new PgstrataException(ErrorCode.USAGE, "--backup, --steps-back and --all each choose what to drill", "give one of them");
        }
        if (all && targets.given()) {
            throw new PgstrataException(ErrorCode.USAGE, "--all drills each backup to its own consistency point: it takes no recovery target",
                    "drill a target on its own (drill --target-time ...)");
        }
        if (startTimeout < 0) {
            throw new PgstrataException(ErrorCode.USAGE, "--start-timeout must be 0 or more seconds, not " + startTimeout, "the default is 300");
        }
        List<String> ids = new ArrayList<>();
        if (all) {
            // Damaged backups too: a backup that cannot be restored is what a drill of every backup is there to report.
            for (BackupInfo b : facade().list(repo.location())) {
                ids.add(b.id());
            }
            if (ids.isEmpty()) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + repo.describe() + " holds no backup to drill",
                        "take one with 'pgstrata backup'");
            }
        } else {
            ids.add(stepsBack == null ? backup : facade().backupStepsBack(repo.location(), stepsBack));
        }
        List<DrillRecord> records = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        for (String id : ids) {
            DrillRecord r;
            try {
                r = facade().drill(new Drill.Request(repo.location(), id,
                        targets.recoveryTarget("promote"), scratch, pgBin,
                        jobs == null ? Jobs.cores() : jobs, java.time.Duration.ofSeconds(startTimeout), stanzaArguments()));
            } catch (PgstrataException e) {
                // --all: a backup that delete or expire removed since the list was taken has nothing left to prove; the
                // others still get their drills. Any other failure, or a backup still listed, ends the command as before.
                if (!all || e.code() != ErrorCode.NOT_FOUND || listed(id)) {
                    throw e;
                }
                removed.add(id);
                warn("backup " + id
                        + " was removed (by delete or expire) before its drill could be recorded; skipped");
                continue;
            }
            records.add(r);
            if (!json) {
                print(r);
            }
        }
        if (records.isEmpty()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "every backup of " + repo.describe() + " was removed while drill --all ran ("
                    + String.join(", ", removed) + ")", "take a backup with 'pgstrata backup', then drill it");
        }
        if (json) {
            Output.json(out(), all ? records : records.get(0));
        }
        List<DrillRecord> failed = records.stream().filter(r -> !r.passed()).toList();
        if (!failed.isEmpty()) {
            DrillRecord f = failed.get(0);
            spec.commandLine().getErr().println(PgstrataException.joinLines("pgstrata: error: the drill of backup " + f.backupId() + " failed: " + f.findings().get(0)
                    + (f.findings().size() > 1 ? " (and " + (f.findings().size() - 1) + " more)" : "")
                    + (failed.size() > 1 ? "; " + failed.size() + " drills failed" : "")
                    + "; hint: do not rely on this backup; take a new full backup and drill it"));
            return ErrorCode.DRILL_FAILED.exitCode();
        }
        return 0;
    }

    /** Whether the repository still lists backup {@code id}. */
    private boolean listed(String id) {
        return facade().list(repo.location()).stream().anyMatch(b -> b.id().equals(id));
    }

    private void print(DrillRecord r) {
        // One line each: the checks and findings name databases and tables, whose names may hold a line break.
        for (String c : r.checks()) {
            out().println("checked: " + Output.line(c));
        }
        for (String f : r.findings()) {
            out().println("finding: " + Output.line(f));
        }
        out().printf("drill of backup %s %s in %.1f s: %d databases, %d relations checked, %d rows (%s) read; recorded in %s%n", r.backupId(),
                r.passed() ? "PASSED" : "FAILED", r.seconds(), r.databases(), r.relations(), r.rows(), Output.bytes(r.bytesRead()), repo.describe());
    }
}
