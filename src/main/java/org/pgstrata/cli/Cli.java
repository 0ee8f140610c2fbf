package org.pgstrata.cli;

import org.pgstrata.api.PgstrataException;
import picocli.CommandLine;

/** The picocli command line. Errors print as one line on stderr and exit with the error's own code. */
public final class Cli {
    private Cli() {
    }

    public static int run(String... args) {
        preloadDriver();
        CommandLine cl = commandLine(args);
        return cl.execute(args);
    }

    /**
     * Most commands connect to a server; the driver's classes take about a tenth of a second to
     * load and initialise. Do that on a second thread while picocli parses the command line.
     */
    private static void preloadDriver() {
        Thread t = new Thread(() -> {
            for (String c : new String[] {"org.postgresql.Driver", "org.postgresql.jdbc.PgConnection",
                "org.postgresql.core.v3.ConnectionFactoryImpl", "org.postgresql.core.v3.QueryExecutorImpl",
                "org.postgresql.jdbc.PgStatement", "org.postgresql.jdbc.PgResultSet", "org.postgresql.core.PGStream",
                "org.postgresql.jdbc.PgPreparedStatement", "org.postgresql.core.v3.SimpleQuery", "org.postgresql.core.Parser",
                "org.postgresql.core.Utils", "org.postgresql.util.PSQLState", "org.postgresql.PGProperty",
                "org.postgresql.core.QueryExecutorBase", "org.postgresql.jdbc.TypeInfoCache"}) {
                try {
                    Class.forName(c);
                } catch (ClassNotFoundException | LinkageError e) {
                    return; // only a head start; the real connection reports any problem
                }
            }
        }, "pgstrata-preload");
        t.setDaemon(true);
        t.start();
    }

    /** Subcommands in the order --help lists them; each is built only when it is needed. */
    private static final java.util.LinkedHashMap<String, java.util.function.Supplier<Object>> SUBCOMMANDS = new java.util.LinkedHashMap<>();

    static {
        SUBCOMMANDS.put("cluster", ClusterCommand::new);
        SUBCOMMANDS.put("demo", DemoCommand::new);
        SUBCOMMANDS.put("repo", RepoCommand::new);
        SUBCOMMANDS.put("backup", BackupCommand::new);
        SUBCOMMANDS.put("list", ListCommand::new);
        SUBCOMMANDS.put("restore", RestoreCommand::new);
        SUBCOMMANDS.put("verify", VerifyCommand::new);
        SUBCOMMANDS.put("delete", DeleteCommand::new);
        SUBCOMMANDS.put("expire", ExpireCommand::new);
        SUBCOMMANDS.put("restore-point", RestorePointCommand::new);
        SUBCOMMANDS.put("info", InfoCommand::new);
        SUBCOMMANDS.put("wal", WalCommand::new);
        SUBCOMMANDS.put("compare", CompareCommand::new);
        SUBCOMMANDS.put("advise", AdviseCommand::new);
        SUBCOMMANDS.put("help", picocli.CommandLine.HelpCommand::new);
    }

    /** The full command line, every subcommand included. */
    static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command line for these arguments. Building picocli's model of every subcommand costs
     * about a tenth of a second, so when the first argument names a subcommand only that one is
     * built; help and anything unusual get them all.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine cl = new CommandLine(new RootCommand());
        if (args.length > 0 && SUBCOMMANDS.containsKey(args[0]) && !args[0].equals("help")) {
            cl.addSubcommand(args[0], SUBCOMMANDS.get(args[0]).get());
        } else {
            SUBCOMMANDS.forEach((name, make) -> cl.addSubcommand(name, make.get()));
        }
        cl.setUsageHelpWidth(100);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            // A refused file anywhere below (repository, data directory) is said as such, whatever wrapped it.
            PgstrataException denied = org.pgstrata.api.PermissionDenied.find(ex);
            if (denied != null) {
                ex = denied;
            }
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
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("pgstrata: error: " + ex.getMessage() + "; hint: see '" + c.getCommandSpec().qualifiedName() + " --help'");
            return org.pgstrata.api.ErrorCode.USAGE.exitCode();
        });
        return cl;
    }
}
