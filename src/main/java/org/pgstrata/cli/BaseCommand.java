package org.pgstrata.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.pgstrata.Pgstrata;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** What every command has: --quiet, --help, the facade, stdout. */
abstract class BaseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-q", "--quiet"}, description = "Print no progress, only results and errors.")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "Also say what happens behind each step, such as storage requests that "
            + "are retried (PGSTRATA_VERBOSE=1 does the same, for archive_command too).")
    void verbose(boolean on) {
        if (on) {
            org.pgstrata.api.Verbose.enable();
        }
    }

    @Option(names = "--help", usageHelp = true, description = "Show this help and exit.")
    boolean help;

    Pgstrata facade() {
        return Pgstrata.standard(new ConsoleProgress(System.err, quiet));
    }

    /** The configuration file that --config, PGSTRATA_CONFIG or the default named, --stanza selected. */
    ConfigFile config() {
        return spec.root().userObject() instanceof RootCommand r ? r.configFile : ConfigFile.none();
    }

    /**
     * How archive_command should name this command's repository: --stanza NAME (and --config FILE)
     * when the repository came from that stanza's file, so that the pushing process reads the
     * same file; empty (name it by its options) when the command line or PGSTRATA_REPO chose it.
     */
    java.util.List<String> stanzaArguments() {
        var parsed = spec.commandLine().getParseResult();
        for (String o : new String[] {"--repo", "--s3-endpoint", "--s3-region", "--s3-path-style"}) {
            if (parsed.hasMatchedOption(o)) {
                return java.util.List.of();
            }
        }
        String env = System.getenv("PGSTRATA_REPO");
        if (env != null && !env.isBlank() || config().value("repo") == null) {
            return java.util.List.of();
        }
        return config().selfArguments();
    }

    /** A warning on standard error, one line however the names and paths in it read (they may hold a line break). */
    void warn(String text) {
        spec.commandLine().getErr().println("pgstrata: warning: " + Output.line(text));
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public final Integer call() throws Exception {
        return execute();
    }

    abstract int execute() throws Exception;
}
