package org.pgstrata.cli;

import org.pgstrata.api.PgstrataException;
import picocli.CommandLine;

/** The picocli command line. Errors print as one line on stderr and exit with the error's own code. */
public final class Cli {
    private Cli() {
    }

    public static int run(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new RootCommand());
        cl.setUsageHelpWidth(100);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof PgstrataException p) {
                commandLine.getErr().println("pgstrata: error: " + p.oneLine());
                if (System.getenv("PGSTRATA_DEBUG") != null) {
                    p.printStackTrace(commandLine.getErr());
                }
                return p.code().exitCode();
            }
            commandLine.getErr().println("pgstrata: internal error: " + ex + " (please report it; set PGSTRATA_DEBUG=1 for a stack trace)");
            if (System.getenv("PGSTRATA_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            }
            return org.pgstrata.api.ErrorCode.INTERNAL.exitCode();
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("pgstrata: error: " + ex.getMessage() + "; hint: see '" + c.getCommandSpec().qualifiedName() + " --help'");
            return org.pgstrata.api.ErrorCode.USAGE.exitCode();
        });
        return cl;
    }
}
