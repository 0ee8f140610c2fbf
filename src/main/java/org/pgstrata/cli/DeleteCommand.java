package org.pgstrata.cli;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "delete", description = {"Remove a backup from the repository.",
    "Refuses (exit code 28) when other backups build on it, such as incrementals and differentials",
    "over a full, because they could no longer be restored; --with-dependants removes them too,",
    "each before what it is built on. The manifest goes first, so an interrupted delete never leaves",
    "a half backup that looks complete, nor one whose chain is gone; run it again to remove what it",
    "left. Archived WAL is kept."})
final class DeleteCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--backup", required = true, paramLabel = "ID", description = "The backup to remove ('pgstrata list' shows ids).")
    String backup;

    @Option(names = "--with-dependants", description = "Also remove every backup built on it.")
    boolean withDependants;

    @Option(names = "--json", description = "Print {\"removed\": [ids]}.")
    boolean json;

    @Override
    int execute() {
        List<String> removed = facade().delete(repo.location(), backup, withDependants);
        if (json) {
            Output.json(out(), java.util.Map.of("removed", removed));
        } else {
            out().println("removed " + removed.size() + " backup(s): " + String.join(", ", removed));
        }
        return 0;
    }
}
