package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Rebuild a data directory from a backup (the newest unless --backup is given).",
    "Every object and every file is checked against its checksum. The backup's WAL goes into",
    "pg_wal with a backup_label, so the server makes itself consistent when it starts;",
    "archive_mode is switched off in the copy. The target must be absent or empty."})
final class RestoreCommand extends BaseCommand {
    @Option(names = "--repo", required = true, paramLabel = "DIR", description = "Repository directory.")
    String repo;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "Directory to restore into (absent or empty).")
    Path to;

    @Option(names = "--backup", paramLabel = "ID", description = "Backup to restore (default: the newest).")
    String backup;

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

    @Override
    int execute() {
        RestoreResult r = facade().restore(new RestoreRequest(repo, to, backup, start, port, pgBin, jobs));
        if (json) {
            Output.json(out(), r);
        } else {
            out().printf("restored backup %s into %s: %d files, %s, files in %.1f s%s%n", r.backupId(), r.target(), r.files(),
                    Output.bytes(r.bytes()), r.filesSeconds(),
                    r.readySeconds() == null ? "" : String.format(", ready for read-write on port %d after %.1f s", r.port(), r.readySeconds()));
        }
        return 0;
    }
}
