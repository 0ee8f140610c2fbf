package org.pgstrata.cli;

import java.time.Instant;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.VerifyRequest;
import org.pgstrata.api.VerifyResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", description = {"Prove, without writing anything, that every backup restores.",
    "Rebuilds every file of every backup through its chain (full, incrementals, differential or",
    "reverse deltas) with the code restore uses, and compares it with the checksum its manifest",
    "records; compares each block with the backup's block map, which the next incremental trusts;",
    "checks every object it reads, the WAL each backup needs, the WAL archive (gaps, damaged or",
    "duplicate segments), the logical backups and the drill records. Files that backups of a chain hold alike are",
    "rebuilt once, reading each object once: verifying a chain costs about as much reading as",
    "restoring its newest backup, and no writing. Names every backup a restore would reject, and",
    "the orphans of failed runs. --backup or --since limit it. Exit code 15 when anything is wrong; 22 when the store failed to deliver an object (it is listed as not checked) and nothing else is wrong."})
final class VerifyCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--backup", paramLabel = "ID", description = "Verify only this backup (rebuilt through its chain).")
    String backup;

    @Option(names = "--since", paramLabel = "TIME",
            description = "Verify only the backups that stopped at or after TIME (ISO-8601, such as 2026-11-24T19:20:30Z; no zone means UTC).")
    String since;

    @Option(names = "--jobs", paramLabel = "N", converter = Jobs.class,
            description = "Files rebuilt in parallel, a large file by several jobs at once (1 to 256; default: the number of cores).")
    Integer jobs;

    private int jobs() {
        return jobs == null ? Jobs.cores() : jobs;
    }

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    int execute() {
        if (backup != null && since != null) {
            throw new PgstrataException(ErrorCode.USAGE, "--backup and --since cannot be combined", "give one of them");
        }
        Instant from = null;
        if (since != null) {
            try {
                from = RecoveryTarget.parseTime(since);
            } catch (PgstrataException e) {
                throw new PgstrataException(ErrorCode.USAGE, "invalid --since '" + since + "'",
                        "write a time like 2026-11-24T19:20:30Z or 2026-11-24");
            }
        }
        VerifyResult r = facade().verify(new VerifyRequest(repo.location(), backup, from, jobs()));
        for (java.nio.file.Path p : facade().interruptedLogicalRestores()) {
            warn("an interrupted logical restore left " + p + " (a decompressed dump, and"
                    + " perhaps a temporary database pgstrata_restore_*); the next logical restore on this host removes them");
        }
        for (String left : facade().cleanDrillLeftovers()) {
            warn(left);
        }
        if (json) {
            Output.json(out(), r);
        } else {
            for (String p : r.problems()) {
                out().println("problem: " + Output.line(p));
            }
            for (String i : r.incomplete()) {
                out().println("incomplete backup (no manifest: a backup still running, or one that failed, which the next backup removes): " + Output.line(i));
            }
            for (String u : r.unfinished()) {
                out().println("unfinished write (never visible; the next backup or expire removes those under backup/ and logical/, expire those"
                        + " under archive/ and drill/ once a day old): " + Output.line(u));
            }
            for (String u : r.unreadable()) {
                out().println("not checked: " + Output.line(u));
            }
            if (!r.rejected().isEmpty()) {
                out().println("a restore would reject: " + String.join(", ", r.rejected()));
            }
            out().printf("rebuilt %d files (%s) of %d backups in %d passes, reading %d objects (%s) once each, in %.1f s%n",
                    r.filesRebuilt(), Output.bytes(r.bytesRebuilt()), r.backups(), r.passes(), r.objects(), Output.bytes(r.bytes()), r.seconds());
            out().printf("%s: %d backups, %d objects, %s checked, %d problems%s%n", r.ok() ? "ok" : "FAILED", r.backups(), r.objects(),
                    Output.bytes(r.bytes()), r.problems().size(), r.unreadable().isEmpty() ? "" : ", " + r.unreadable().size() + " files not checked");
        }
        if (r.problems().isEmpty() && !r.unreadable().isEmpty()) {
            spec.commandLine().getErr().println(PgstrataException.joinLines("pgstrata: error: verify could not read " + r.unreadable().size()
                    + " file(s) of " + repo.describe() + ", first: " + r.unreadable().get(0)
                    + "; hint: this says nothing about those backups; check the store and run verify again"));
            return ErrorCode.IO.exitCode();
        }
        if (!r.ok()) {
            spec.commandLine().getErr().println(PgstrataException.joinLines("pgstrata: error: verify found " + r.problems().size() + " problem(s) in " + repo.describe()
                    + (r.rejected().isEmpty() ? "" : "; a restore would reject " + String.join(", ", r.rejected()))
                    + ", first: " + r.problems().get(0) + "; hint: " + (r.problems().stream().allMatch(p -> p.startsWith("archive gap"))
                            ? "the points past a gap cannot be reached from the backups before it (they restore up to it): take a new full "
                                    + "backup, and find why archiving lost those segments"
                            : "do not rely on the damaged backups; take a new full backup")));
            return ErrorCode.CORRUPT.exitCode();
        }
        return 0;
    }
}
