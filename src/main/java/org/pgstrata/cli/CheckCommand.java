package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pgstrata.api.CheckRequest;
import org.pgstrata.api.CheckResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "check", description = {
    "Check that a cluster and its repository work together, as pgBackRest's check does.",
    "It checks that the server answers; with --pgdata (or a stanza's pgdata), that it is the",
    "server's data directory; the repository serves this cluster; data checksums are on;",
    "archive_mode is on and archive_command runs pgstrata wal push into this repository (with",
    "--stanza, through the configuration file), with no archive_library beside it; then it writes a restore point, switches WAL and",
    "waits until that segment is in the repository. It fails at once when the archiver counts a",
    "new failure, and after --check-timeout seconds in which the archiver archived nothing. Exit 0",
    "only when every check passes; each failure is one line on stderr, and the exit code is the",
    "first failure's: 16 connection, 12 or 13 pgdata, 17 or 11 repository, 20 checksums off, 40",
    "archive_command not archiving here, 41 archive_command failing, 25 segment not archived in",
    "time. --json prints every check."})
final class CheckCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the cluster (default: PGDATA): its socket and port come from its postmaster.pid when --host and --port are not given.")
    Path pgdata;

    @Option(names = "--check-timeout", defaultValue = "60", paramLabel = "SECONDS", converter = WaitSeconds.class,
            description = "How long the switched segment may take to reach the repository while the archiver archives nothing "
                    + "(default: ${DEFAULT-VALUE}).")
    int timeout;

    @Option(names = "--json", description = "Print every check as JSON: checks (name, ok, message, hint, exitCode), segment, seconds.")
    boolean json;

    @Mixin
    ConnectionOptions conn;

    @Override
    int execute() {
        var env = System.getenv();
        CheckResult r = facade().check(new CheckRequest(repo.location(), conn.resolve(env, pgdata), CheckCommand::archiveTarget, timeout,
                pgdata));
        if (json) {
            Output.json(out(), r);
        }
        Integer first = null;
        for (CheckResult.Item i : r.checks()) {
            if (i.ok()) {
                if (!json) {
                    out().println("ok: " + i.name() + ": " + Output.line(i.message())); // one line, whatever the repository's path holds
                }
            } else {
                spec.commandLine().getErr().println(PgstrataException.joinLines("pgstrata: error: " + i.name() + ": " + i.message()
                        + (i.hint() == null ? "" : "; hint: " + i.hint())));
                first = first == null ? i.exitCode() : first;
            }
        }
        out().flush();
        return first == null ? 0 : first;
    }

    /**
     * Where a {@code wal push} with these arguments archives, read as the pushing process reads
     * them (LeanWal, the configuration file for --stanza), with none of this process's environment
     * (the server's is not ours to know) but the assignments the command itself makes
     * ({@code PGSTRATA_REPO=... pgstrata wal push}), which come first.
     */
    static String archiveTarget(List<String> pushArguments) {
        Map<String, String> env = new java.util.HashMap<>();
        int first = 0;
        while (first < pushArguments.size() && CheckRequest.ASSIGNMENT.matcher(pushArguments.get(first)).matches()) {
            String a = pushArguments.get(first++);
            env.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        List<String> args = new ArrayList<>(List.of("wal", "push"));
        args.addAll(pushArguments.subList(first, pushArguments.size()));
        args.add("%p");
        String location = LeanWal.location(args.toArray(String[]::new), env);
        if (location == null) {
            throw new PgstrataException(ErrorCode.USAGE, "its arguments (" + String.join(" ", pushArguments) + ") name no repository "
                    + "that pgstrata wal push would use", "pgstrata wal setup --apply writes a working archive_command");
        }
        return location;
    }
}
