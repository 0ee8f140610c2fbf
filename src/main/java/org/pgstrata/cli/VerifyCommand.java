package org.pgstrata.cli;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.VerifyResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", description = {"Reread every object in the repository and check it against its manifest.",
    "Checks each object's size and checksum, then each file's content checksum, for every backup",
    "or only --backup. Names the orphans of failed runs: backups without a manifest, and unfinished writes (S3 multipart uploads). Exit code 15 when anything is wrong."})
final class VerifyCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--backup", paramLabel = "ID", description = "Verify only this backup.")
    String backup;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    int execute() {
        VerifyResult r = facade().verify(repo.location(), backup);
        if (json) {
            Output.json(out(), r);
        } else {
            for (String p : r.problems()) {
                out().println("problem: " + p);
            }
            for (String i : r.incomplete()) {
                out().println("incomplete backup (no manifest, left by a failed run; the next backup removes it): " + i);
            }
            for (String u : r.unfinished()) {
                out().println("unfinished write (never visible; the next backup removes those under backup/ and logical/): " + u);
            }
            out().printf("%s: %d backups, %d objects, %s checked, %d problems%n", r.ok() ? "ok" : "FAILED", r.backups(), r.objects(),
                    Output.bytes(r.bytes()), r.problems().size());
        }
        if (!r.ok()) {
            spec.commandLine().getErr().println("pgstrata: error: verify found " + r.problems().size() + " problem(s) in " + repo.describe()
                    + ", first: " + r.problems().get(0) + "; hint: do not rely on the damaged backups; take a new full backup");
            return ErrorCode.CORRUPT.exitCode();
        }
        return 0;
    }
}
