package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Rebuild a data directory from a backup, optionally recovering to a point in time.",
    "Every object and every file is checked against its checksum. Without a target the copy",
    "recovers to the backup's own consistency point. With a target (time, LSN, xid, restore point",
    "name, or latest) it picks the newest backup before the target, says which and why, and writes",
    "restore_command and the recovery settings so that the server replays archived WAL up to it.",
    "With --start it waits until the target is reached and reports where recovery stopped.",
    "archive_mode is switched off in the copy. The directory must be absent or empty."})
final class RestoreCommand extends BaseCommand {
    @Option(names = "--repo", required = true, paramLabel = "DIR", description = "Repository directory.")
    String repo;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "Directory to restore into (absent or empty).")
    Path to;

    @Option(names = "--backup", paramLabel = "ID", description = "Backup to restore (default: the newest).")
    String backup;

    @Option(names = "--steps-back", paramLabel = "N",
            description = "Restore the backup N steps before the newest (0 = the newest; in a reverse-delta repository, N reverse deltas applied).")
    Integer stepsBack;

    @Option(names = "--start", description = "Start the restored server and wait until it accepts read-write connections.")
    boolean start;

    @Option(names = "--port", paramLabel = "PORT", description = "Port for the restored server (with --start; default: the source's).")
    Integer port;

    @Option(names = "--pg-bin", paramLabel = "DIR", description = "Binaries to start the server with (default: PGSTRATA_PG_BIN, else bundled).")
    Path pgBin;

    @Option(names = "--jobs", defaultValue = "2", paramLabel = "N", description = "Files restored in parallel (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    static final class Target {
        @Option(names = "--target-time", paramLabel = "TIME", description = "Stop at this time (ISO-8601, or '2026-11-24 19:20:30+00').")
        String time;

        @Option(names = "--target-lsn", paramLabel = "LSN", description = "Stop at this WAL position.")
        String lsn;

        @Option(names = "--target-xid", paramLabel = "XID", description = "Stop at the commit of this transaction.")
        String xid;

        @Option(names = "--target-name", paramLabel = "NAME", description = "Stop at this named restore point.")
        String name;

        @Option(names = "--target", paramLabel = "latest", description = "latest: replay all archived WAL.")
        String keyword;
    }

    @Option(names = "--target-inclusive", arity = "0..1", defaultValue = "true", fallbackValue = "true", paramLabel = "BOOL",
            description = "Stop just after the target (true, the default) or just before it (false).")
    boolean inclusive;

    @Option(names = "--target-timeline", defaultValue = "latest", paramLabel = "TLI",
            description = "Timeline to recover along: latest (default), current, or a number.")
    String timeline;

    @Option(names = "--target-action", defaultValue = "promote", paramLabel = "ACTION",
            description = "At the target: promote (default: read-write), pause (read-only, inspect), or shutdown.")
    String action;

    private RecoveryTarget recoveryTarget() {
        if (target == null) {
            return new RecoveryTarget(RecoveryTarget.Type.IMMEDIATE, null, inclusive, "current", action);
        }
        if (target.keyword != null) {
            if (!target.keyword.equals("latest")) {
                throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "invalid --target '" + target.keyword + "'",
                        "use --target latest, or --target-time/--target-lsn/--target-xid/--target-name");
            }
            return new RecoveryTarget(RecoveryTarget.Type.LATEST, null, inclusive, timeline, action);
        }
        if (target.lsn != null) {
            org.pgstrata.postgres.Lsn.parse(target.lsn);
        }
        RecoveryTarget.Type type = target.time != null ? RecoveryTarget.Type.TIME : target.lsn != null ? RecoveryTarget.Type.LSN
                : target.xid != null ? RecoveryTarget.Type.XID : RecoveryTarget.Type.NAME;
        String value = target.time != null ? target.time : target.lsn != null ? target.lsn : target.xid != null ? target.xid : target.name;
        return new RecoveryTarget(type, value, inclusive, timeline, action);
    }

    @Override
    int execute() {
        if (stepsBack != null && backup != null) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--steps-back and --backup both choose the backup",
                    "give one of them");
        }
        String id = stepsBack == null ? backup : facade().backupStepsBack(repo, stepsBack);
        RestoreResult r = facade().restore(new RestoreRequest(repo, to, id, start, port, pgBin, jobs, recoveryTarget()));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("restored backup %s into %s: %d files, %s, files in %.1f s%n", r.backupId(), r.target(), r.files(),
                    Output.bytes(r.bytes()), r.filesSeconds());
            if (r.readySeconds() != null) {
                out().printf("recovery stopped at %s%s; the server is %s%s, %.1f s after the restore began%n", r.stoppedAtLsn(),
                        r.stoppedAtTime() == null ? "" : " (last transaction " + r.stoppedAtTime() + ")", r.state(),
                        r.port() == null ? "" : " on port " + r.port(), r.readySeconds());
            }
        }
        return 0;
    }
}
