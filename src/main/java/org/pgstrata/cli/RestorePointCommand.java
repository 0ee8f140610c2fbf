package org.pgstrata.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "restore-point", description = {"Create a named restore point, to restore to later with --target-name.",
    "Switches to a new WAL segment afterwards (unless --no-switch) so that the point is archived now."})
final class RestorePointCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "The restore point's name (up to 63 bytes in UTF-8, no line break).")
    String name;

    @Option(names = "--no-switch", description = "Do not switch WAL segments afterwards.")
    boolean noSwitch;

    @Mixin
    ConnectionOptions conn;

    @Override
    int execute() {
        String lsn = facade().restorePoint(conn.resolve(System.getenv()), name, !noSwitch);
        out().println("created restore point '" + name + "' at " + lsn);
        return 0;
    }
}
