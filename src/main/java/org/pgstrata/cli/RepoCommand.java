package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.manifest.RepoInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "repo", description = "Manage repositories.", subcommands = {RepoCommand.Init.class}, mixinStandardHelpOptions = true)
final class RepoCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "init", description = {"Create a repository for the cluster in --pgdata. It records the cluster's system",
        "identifier and major version and refuses backups of any other cluster. The first backup",
        "creates the repository too, so this is optional. Run on a repository that holds backups",
        "but has lost its repo.json, it re-creates it only after checking that every backup and",
        "every archived WAL segment belongs to the cluster (it reads the whole archive); otherwise",
        "it refuses (exit 11). Nothing else re-creates a lost repo.json."})
    static final class Init extends BaseCommand {
        @Mixin
        RepoOptions repo;

        @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the cluster it serves (default: PGDATA).")
        Path pgdata;

        @Override
        int execute() {
            RepoInfo info = facade().repoInit(repo.location(), DataDirectory.required(pgdata, System.getenv()), true);
            out().println("repository " + repo.describe() + " serves cluster " + info.systemIdentifier() + " (PostgreSQL " + info.pgMajor() + ")");
            return 0;
        }
    }
}
