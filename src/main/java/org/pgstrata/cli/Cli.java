package org.pgstrata.cli;

import org.pgstrata.api.PgstrataException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/** The picocli command line. Errors print as one line on stderr and exit with the error's own code. */
public final class Cli {
    private Cli() {
    }

    public static int run(String... args) {
        preloadDriver();
        return run(null, null, System.getenv(), args);
    }

    /**
     * Runs the command line for {@code args}, printing to {@code out} and {@code err} (null:
     * stdout and stderr), with the configuration file that the arguments and {@code env} name.
     */
    static int run(java.io.PrintWriter out, java.io.PrintWriter err, java.util.Map<String, String> env, String... args) {
        return LeanWal.exitStatus(args, runCommand(out, err, env, args));
    }

    private static int runCommand(java.io.PrintWriter out, java.io.PrintWriter err, java.util.Map<String, String> env, String... args) {
        ConfigFile config;
        // status is run by a monitor, which reads its first line on stdout and its exit code as
        // 0 OK to 3 UNKNOWN: a configuration it cannot use is UNKNOWN there (StatusCommand), not exit 2
        // (CRITICAL to the monitor) or another command's code with nothing on stdout.
        boolean status = "status".equals(commandName(args));
        PgstrataException configProblem = null;
        try {
            config = config(args, env, ConfigFile.DEFAULT);
        } catch (PgstrataException p) {
            if (!status) {
                java.io.PrintWriter e = err != null ? err : new java.io.PrintWriter(System.err, true);
                e.println("pgstrata: error: " + p.oneLine());
                e.flush();
                return p.code().exitCode();
            }
            config = ConfigFile.none();
            configProblem = p;
        }
        // The file's S3 credentials, where the AWS SDK's default chain looks first; only for this run.
        java.util.Map<String, String> previous = new java.util.HashMap<>();
        config.s3Credentials(env).forEach((k, v) -> previous.put(k, System.setProperty(k, v)));
        try {
            prefetchKey(args, env, config);
            CommandLine cl = commandLine(args, config, env);
            ((RootCommand) cl.getCommand()).configProblem = configProblem;
            if (out != null) {
                cl.setOut(out);
            }
            if (err != null) {
                cl.setErr(err);
            }
            try {
                config.useCipherPass(env);
            } catch (PgstrataException p) {
                if (status) {
                    ((RootCommand) cl.getCommand()).configProblem = p;
                    return executeFlushed(cl, args);
                }
                java.io.PrintWriter e = err != null ? err : new java.io.PrintWriter(System.err, true);
                e.println("pgstrata: error: " + p.oneLine());
                e.flush();
                return p.code().exitCode();
            }
            return executeFlushed(cl, args);
        } finally {
            // A key derived ahead for a command that never opened its repository (--help, a usage error) goes with it.
            org.pgstrata.storage.crypt.KeyEnvelope.discardPrefetch();
            org.pgstrata.api.CipherPass.clear();
            previous.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    /** Runs the command, then hands on what its output still buffers (a last line printed without its newline), so that a failed write is seen. */
    private static int executeFlushed(CommandLine cl, String[] args) {
        try {
            return cl.execute(args);
        } finally {
            cl.getOut().flush();
        }
    }

    /** The commands that open a repository (with --repo, PGSTRATA_REPO or the stanza's repo). */
    private static final java.util.Set<String> REPOSITORY_COMMANDS = java.util.Set.of("backup", "restore", "list", "verify", "drill", "status",
            "delete", "expire", "info", "check", "advise", "repo", "wal");

    /**
     * An encrypted repository's key is derived from its passphrase by Argon2id, 0.085 s of CPU
     * that a restore otherwise spends after the command line and the repository are set up, with
     * nothing to read until it ends. When the command opens a repository and has its passphrase,
     * the derivation starts here, beside that setup, on the second core ({@link
     * KeyEnvelope#prefetch}); on S3 that thread also starts the AWS SDK (whose classes the command
     * then finds loaded) and reads repo.json itself. Repository, passphrase and their precedence are found as
     * the command will find them (--repo, PGSTRATA_REPO, the stanza's repo; --cipher-pass-file,
     * PGSTRATA_CIPHER_PASS, the stanza's cipher-pass); anything unusual, or a guess that turns out
     * wrong, only means the key is derived later, as before. Nothing is reported from here.
     */
    static boolean prefetchKey(String[] args, java.util.Map<String, String> env, ConfigFile config) {
        String command = commandName(args);
        if (command == null || !REPOSITORY_COMMANDS.contains(command) && optionValue(args, "--repo") == null
                || args.length > 1 && (java.util.Arrays.asList(args).contains("--help") || java.util.Arrays.asList(args).contains("-h"))) {
            return false;
        }
        String location = repositoryLocation(args, env, config);
        if (location == null) {
            return false;
        }
        char[] pass = passphrase(args, env, config);
        if (pass == null) {
            if (org.pgstrata.storage.s3.S3Location.isS3(location)) {
                // No key to derive; the AWS SDK's start (a third of a second of class loading) still runs beside the command's.
                Thread t = new Thread(() -> {
                    try {
                        org.pgstrata.manifest.Repository.envelopeAt(location);
                    } catch (Exception | LinkageError e) {
                        // only a head start: the command reports what is wrong
                    }
                }, "pgstrata-s3-warmup");
                t.setDaemon(true);
                t.start();
            }
            return false;
        }
        try {
            org.pgstrata.storage.crypt.KeyEnvelope.prefetch(pass, () -> org.pgstrata.manifest.Repository.envelopeAt(location));
            return true;
        } finally {
            java.util.Arrays.fill(pass, '\0');
        }
    }

    /**
     * The repository the command will open, as RepoOptions, S3Options and ConfigDefaults resolve
     * it (--repo, else a non-blank PGSTRATA_REPO, else the stanza's repo; the s3 options folded in,
     * AWS_REGION left to the SDK when set); null when there is none, or it is malformed (the
     * command says so).
     */
    private static String repositoryLocation(String[] args, java.util.Map<String, String> env, ConfigFile config) {
        String repo = optionValue(args, "--repo");
        if (repo == null || repo.isBlank()) {
            repo = LeanWal.fileDefault(config, env, "repo");
        }
        if (repo == null || repo.isBlank()) {
            return null;
        }
        try {
            if (!org.pgstrata.storage.s3.S3Location.isS3(repo)) {
                return java.nio.file.Path.of(repo).toString();
            }
            String endpoint = optionValue(args, "--s3-endpoint");
            endpoint = endpoint != null ? endpoint : LeanWal.fileDefault(config, env, "s3-endpoint");
            String region = optionValue(args, "--s3-region");
            region = region != null ? region : LeanWal.fileDefault(config, env, "s3-region");
            boolean pathStyle = java.util.Arrays.asList(args).contains("--s3-path-style")
                    || Boolean.parseBoolean(LeanWal.fileDefault(config, env, "s3-path-style"));
            return org.pgstrata.storage.s3.S3Location.withOptions(repo, endpoint, region, pathStyle);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The passphrase the command will use (--cipher-pass-file, PGSTRATA_CIPHER_PASS, the stanza's cipher-pass); null for none. */
    private static char[] passphrase(String[] args, java.util.Map<String, String> env, ConfigFile config) {
        String file = optionValue(args, "--cipher-pass-file");
        String fromEnv = org.pgstrata.api.CipherPass.fromEnvironment(env, org.pgstrata.api.CipherPass.ENV);
        String text;
        if (file != null) {
            try {
                java.nio.file.Path f = java.nio.file.Path.of(file);
                if (!java.nio.file.Files.isRegularFile(f)) {
                    return null; // a pipe (<(pass show db), /dev/stdin) can be read once only: by the command
                }
                text = org.pgstrata.api.CipherPass.firstLine(java.nio.file.Files.readString(f));
            } catch (java.io.IOException | RuntimeException e) {
                return null; // the command says what is wrong with the file
            }
        } else if (fromEnv != null && !fromEnv.isEmpty()) {
            text = fromEnv;
        } else {
            text = config.value("cipher-pass");
        }
        return text == null || text.isEmpty() ? null : text.toCharArray();
    }

    /** The first argument that is neither an option nor the value of --stanza or --config before it: the command; null when none. */
    static String commandName(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--stanza") || a.equals("--config")) {
                i++;
            } else if (a.equals("--")) {
                return null;
            } else if (!a.startsWith("-")) {
                return a;
            }
        }
        return null;
    }

    /** The value of {@code --name VALUE} or {@code --name=VALUE} among {@code args} (before any "--"), or null. */
    static String optionValue(String[] args, String name) {
        String value = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                break;
            } else if (a.equals(name) && i + 1 < args.length) {
                value = args[++i];
            } else if (a.startsWith(name + "=")) {
                value = a.substring(name.length() + 1);
            }
        }
        return value;
    }

    /** The configuration file that --config, PGSTRATA_CONFIG or {@code defaultPath} names, --stanza selected. */
    static ConfigFile config(String[] args, java.util.Map<String, String> env, java.nio.file.Path defaultPath) {
        return ConfigFile.load(optionValue(args, "--config"), optionValue(args, "--stanza"), env, defaultPath);
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
        SUBCOMMANDS.put("drill", DrillCommand::new);
        SUBCOMMANDS.put("status", StatusCommand::new);
        SUBCOMMANDS.put("delete", DeleteCommand::new);
        SUBCOMMANDS.put("expire", ExpireCommand::new);
        SUBCOMMANDS.put("restore-point", RestorePointCommand::new);
        SUBCOMMANDS.put("info", InfoCommand::new);
        SUBCOMMANDS.put("check", CheckCommand::new);
        SUBCOMMANDS.put("wal", WalCommand::new);
        SUBCOMMANDS.put("compare", CompareCommand::new);
        SUBCOMMANDS.put("advise", AdviseCommand::new);
        SUBCOMMANDS.put("completion", CompletionCommand::new);
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
        return commandLine(args, ConfigFile.none(), System.getenv());
    }

    /** The command line for these arguments, its options' defaults from {@code config} below {@code env}. */
    static CommandLine commandLine(String[] args, ConfigFile config, java.util.Map<String, String> env) {
        RootCommand root = new RootCommand();
        root.configFile = config;
        CommandLine cl = new CommandLine(root);
        if (args.length > 0 && SUBCOMMANDS.containsKey(args[0]) && !args[0].equals("help")) {
            cl.addSubcommand(args[0], SUBCOMMANDS.get(args[0]).get());
        } else {
            SUBCOMMANDS.forEach((name, make) -> cl.addSubcommand(name, make.get()));
        }
        // An empty path is the working directory to Path.of: "--to $TARGET" with TARGET unset restored into wherever the
        // command ran. Every path option (and a stanza's pgdata = "") refuses it; '.' still names the working directory.
        cl.registerConverter(java.nio.file.Path.class, value -> {
            if (value.isEmpty()) {
                throw new CommandLine.TypeConversionException("the path is empty (an unset variable?): give a path, or '.' for the working directory");
            }
            return java.nio.file.Path.of(value);
        });
        cl.setUsageHelpWidth(100);
        reflow(cl);
        cl.setDefaultValueProvider(new ConfigDefaults(config, env));
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (org.pgstrata.api.ChildProcesses.shuttingDown()) {
                // Ctrl-C or SIGTERM stopped the command's child (pg_dump, pg_restore), and so the command: Main's hook says so, in one line
                return 130;
            }
            // A refused file anywhere below (repository, data directory) is said as such, whatever wrapped it.
            PgstrataException denied = org.pgstrata.api.PermissionDenied.find(ex);
            if (denied != null) {
                ex = denied;
            }
            PgstrataException memory = PgstrataException.outOfMemory(ex);
            if (memory != null) {
                ex = memory;
            }
            PgstrataException unencodable = PgstrataException.unencodablePath(ex);
            if (unencodable != null) {
                ex = unencodable;
            }
            PgstrataException noZstd = org.pgstrata.api.Self.nativeLibraryFailure(ex);
            if (noZstd != null) {
                ex = noZstd;
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
            String guess = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u) {
                List<String> near = nearest(u);
                if (!near.isEmpty()) {
                    guess = "did you mean " + String.join(" or ", near.stream().map(n -> "'" + n + "'").toList()) + "? ";
                }
            }
            List<String> targets = recoveryTargets(args);
            if ((ex instanceof CommandLine.MutuallyExclusiveArgsException || ex instanceof CommandLine.MaxValuesExceededException)
                    && targets.size() > 1) {
                // picocli's words for its argument group ("Error: ... are mutually exclusive", or "expected only one
                // match but got [--target-time=TIME | ...]={...} and [...]") name its syntax, not what was typed.
                c.getErr().println("pgstrata: error: " + c.getCommandName() + " takes one recovery target, and was given "
                        + String.join(", ", targets) + "; hint: give one of --target-time, --target-lsn, --target-xid, --target-name"
                        + " or --target latest, once");
                return org.pgstrata.api.ErrorCode.USAGE.exitCode();
            }
            String from = fromFile(ex, args, config);
            if (!from.isEmpty() && c.getCommandSpec().userObject() instanceof StatusCommand) {
                // A bad value in the file, not on the command line: the monitor's UNKNOWN (see runCommand).
                c.getOut().println("PGSTRATA UNKNOWN - " + ex.getMessage() + from + "; hint: correct it in the file");
                c.getOut().flush();
                return org.pgstrata.drill.Health.Status.UNKNOWN.exitCode();
            }
            c.getErr().println("pgstrata: error: " + ex.getMessage() + from + "; hint: " + guess + (from.isEmpty() ? ""
                    : "correct it in the file, or give the option on the command line; ") + "see '" + c.getCommandSpec().qualifiedName() + " --help'");
            return org.pgstrata.api.ErrorCode.USAGE.exitCode();
        });
        return cl;
    }

    private static final List<String> TARGET_OPTIONS = List.of("--target-time", "--target-lsn", "--target-xid", "--target-name", "--target");

    /** The recovery targets on the command line, in order, each as "OPTION VALUE" (for a refusal of more than one). */
    static List<String> recoveryTargets(String[] args) {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if ("--".equals(args[i])) {
                break;
            }
            for (String name : TARGET_OPTIONS) {
                if (args[i].equals(name)) {
                    found.add(i + 1 < args.length ? name + " " + args[++i] : name);
                    break;
                }
                if (args[i].startsWith(name + "=")) {
                    found.add(name + " " + args[i].substring(name.length() + 1));
                    break;
                }
            }
        }
        return found;
    }

    /**
     * " (from FILE [stanza])" when the refused value is an option's default taken from the
     * configuration file, not one the command line gave: the message names an option the user
     * never typed. Empty otherwise.
     */
    static String fromFile(CommandLine.ParameterException ex, String[] args, ConfigFile config) {
        if (!(ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o) || config.path() == null || !o.longestName().startsWith("--")) {
            return "";
        }
        String key = o.longestName().substring(2);
        if (!ConfigFile.KEYS.containsKey(key) || config.value(key) == null) {
            return "";
        }
        for (String a : args) {
            for (String name : o.names()) {
                if (a.equals(name) || a.startsWith(name + "=") || !name.startsWith("--") && a.startsWith(name) && a.length() > name.length()) {
                    return ""; // given on the command line
                }
            }
        }
        return " (" + key + " from " + config.path() + (config.stanza() != null ? " [" + config.stanza() + "]" : "") + ")";
    }

    /**
     * Descriptions are written as lines of source text. A sentence that runs on from one line to
     * the next is joined here, so that picocli wraps it to the help's width instead of breaking it
     * where the source did too (the command list showed "... It only" and stopped); a line that
     * ends a sentence, or an empty one (a paragraph break), stays a line of its own. Command lists
     * show each command's first sentence.
     */
    static void reflow(CommandLine cl) {
        CommandLine.Model.UsageMessageSpec usage = cl.getCommandSpec().usageMessage();
        usage.description(joinSentences(usage.description()));
        // The footer too (the exit codes): its source lines broke where an edit left them ("40" / "archive_command not
        // archiving into the" / "repository, ..."), which the help printed as ragged lines.
        usage.footer(joinSentences(usage.footer()));
        if (usage.footer().length > 0) {
            cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER, Cli::footer);
        }
        if (!cl.getSubcommands().isEmpty()) {
            cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, Cli::commandList);
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            reflow(sub);
        }
    }

    /**
     * The footer's paragraphs wrapped to the help's width at spaces, a number kept with the word
     * after it: the footer lists exit codes ("40 archive_command not archiving ..."), and picocli's
     * own wrapping left a code at the end of one line and its meaning on the next.
     */
    private static String footer(CommandLine.Help help) {
        int width = help.commandSpec().usageMessage().width() - 1;
        StringBuilder sb = new StringBuilder();
        for (String paragraph : help.commandSpec().usageMessage().footer()) {
            String text = paragraph.contains("%") ? String.format(paragraph) : paragraph;
            sb.append(String.join("\n", wrap(text, width))).append('\n');
        }
        return sb.toString();
    }

    /** {@code text} in lines of at most {@code width} characters (a longer word alone), broken at spaces but never right after a number. */
    static List<String> wrap(String text, int width) {
        List<String> units = new java.util.ArrayList<>();
        String pending = null;
        for (String word : text.strip().split("\\s+")) {
            if (word.isEmpty()) {
                continue;
            }
            String unit = pending == null ? word : pending + " " + word;
            pending = null;
            if (word.matches("\\d+")) {
                pending = unit;
            } else {
                units.add(unit);
            }
        }
        if (pending != null) {
            units.add(pending);
        }
        List<String> lines = new java.util.ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String unit : units) {
            if (line.length() > 0 && line.length() + 1 + unit.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(unit);
        }
        if (line.length() > 0 || lines.isEmpty()) {
            lines.add(line.toString());
        }
        return lines;
    }

    static String[] joinSentences(String[] lines) {
        List<String> out = new java.util.ArrayList<>();
        StringBuilder sentence = null;
        for (String line : lines) {
            if (line.isBlank()) {
                if (sentence != null) {
                    out.add(sentence.toString());
                    sentence = null;
                }
                out.add(line);
                continue;
            }
            sentence = sentence == null ? new StringBuilder(line) : sentence.append(' ').append(line.strip());
            if (endsSentence(line)) {
                out.add(sentence.toString());
                sentence = null;
            }
        }
        if (sentence != null) {
            out.add(sentence.toString());
        }
        return out.toArray(String[]::new);
    }

    private static boolean endsSentence(String line) {
        String t = line.strip();
        return t.endsWith(".") || t.endsWith(":") || t.endsWith("?") || t.endsWith(".)") || t.endsWith(".\"") || t.endsWith(".'");
    }

    /** The first sentence of a command's description: up to a full stop followed by a space and a capital letter. */
    static String summary(String[] description) {
        String first = description.length == 0 ? "" : description[0].strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("[.?!](?=\\s+[A-Z])").matcher(first);
        return m.find() ? first.substring(0, m.end()) : first;
    }

    /** picocli's command list, with each command's first sentence rather than its first source line. */
    private static String commandList(CommandLine.Help help) {
        Map<String, CommandLine.Help> subs = help.subcommands();
        if (subs.isEmpty()) {
            return "";
        }
        int nameWidth = subs.keySet().stream().mapToInt(String::length).max().orElse(0) + 2;
        int width = help.commandSpec().usageMessage().width();
        CommandLine.Help.TextTable table = CommandLine.Help.TextTable.forColumns(help.colorScheme(),
                new CommandLine.Help.Column(nameWidth + 2, 2, CommandLine.Help.Column.Overflow.SPAN),
                new CommandLine.Help.Column(width - nameWidth - 2, 1, CommandLine.Help.Column.Overflow.WRAP));
        for (Map.Entry<String, CommandLine.Help> e : subs.entrySet()) {
            CommandLine.Model.CommandSpec spec = e.getValue().commandSpec();
            if (spec.usageMessage().hidden()) {
                continue; // as picocli's own list does
            }
            String[] header = spec.usageMessage().header();
            String text = header.length > 0 ? header[0] : summary(spec.usageMessage().description());
            // Descriptions are format strings to picocli ('%%p' prints as '%p'); none uses its @|markup|@.
            text = text.contains("%") ? String.format(text) : text;
            table.addRowValues(help.colorScheme().commandText(e.getKey()), help.colorScheme().text(text));
        }
        return table.toString();
    }

    /**
     * The commands or options at most two edits away from the first argument nobody took
     * ("bakup": backup, "lsit": list, "--tpye": --type), nearest first; at most three. (picocli's
     * own suggestions rank by shared letters, and offer advise for lisst.)
     */
    static List<String> nearest(CommandLine.UnmatchedArgumentException u) {
        if (u.getUnmatched().isEmpty()) {
            return List.of();
        }
        String typed = u.getUnmatched().get(0);
        int eq = typed.indexOf('=');
        if (typed.startsWith("--") && eq > 0) {
            typed = typed.substring(0, eq);
        }
        CommandLine c = u.getCommandLine();
        java.util.Collection<String> names = typed.startsWith("-")
                ? c.getCommandSpec().options().stream().flatMap(o -> java.util.Arrays.stream(o.names())).toList()
                : c.getSubcommands().keySet();
        org.apache.commons.text.similarity.LevenshteinDistance distance = new org.apache.commons.text.similarity.LevenshteinDistance(2);
        String t = typed;
        return names.stream().filter(n -> n.length() > 2 && distance.apply(t, n) >= 0)
                .sorted(java.util.Comparator.comparingInt((String n) -> distance.apply(t, n)).thenComparing(n -> n))
                .limit(3).toList();
    }
}
