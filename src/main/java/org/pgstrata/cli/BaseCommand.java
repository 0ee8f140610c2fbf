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

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public final Integer call() throws Exception {
        return execute();
    }

    abstract int execute() throws Exception;
}
