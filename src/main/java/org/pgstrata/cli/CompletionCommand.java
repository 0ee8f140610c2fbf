package org.pgstrata.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "completion", description = {
    "Print a shell completion script for pgstrata.",
    "It completes commands, their options, and file names where an option takes a file or directory. The script is made from the same model as --help,",
    "so it never lags behind. It is a bash script (picocli's; zsh can load it after",
    "'autoload -U +X bashcompinit && bashcompinit', which pgstrata's tests do not try).",
    "Install it once, for example:",
    "  pgstrata completion > /etc/bash_completion.d/pgstrata",
    "or, for one user, add  source <(pgstrata completion)  to ~/.bashrc."})
final class CompletionCommand extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SHELL", defaultValue = "bash",
            description = "The shell: bash, the only one (and the default).")
    String shell;

    @Override
    int execute() {
        if (!shell.equals("bash")) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "no completion script for the shell '" + shell + "'",
                    "pgstrata completion bash");
        }
        out().print(AutoComplete.bash("pgstrata", Cli.commandLine()));
        out().flush();
        return 0;
    }
}
