package org.pgstrata.cli;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Where recovery stops: the target options of restore and drill (the action is each command's own). */
final class RecoveryTargetOptions {
    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    static final class Target {
        @Option(names = "--target-time", paramLabel = "TIME", description = "Stop at this time (ISO-8601, or '2026-11-24 19:20:30+00').")
        String time;

        @Option(names = "--target-lsn", paramLabel = "LSN", description = "Stop at this WAL position.")
        String lsn;

        @Option(names = "--target-xid", paramLabel = "XID", description = "Stop at the commit of this transaction, on the target "
                + "timeline (after a fork, an id the other timeline used too is warned of).")
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

    /** Whether a target was given (without one, recovery stops at the backup's consistency point). */
    boolean given() {
        return target != null;
    }

    /** The recovery target these options name, with {@code action} at it. */
    RecoveryTarget recoveryTarget(String action) {
        if (target == null) {
            return new RecoveryTarget(RecoveryTarget.Type.IMMEDIATE, null, inclusive, "current", action);
        }
        if (target.keyword != null) {
            if (!target.keyword.equals("latest")) {
                throw new PgstrataException(ErrorCode.USAGE, "invalid --target '" + target.keyword + "'",
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
}
