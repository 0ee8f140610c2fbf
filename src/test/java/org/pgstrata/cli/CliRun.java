package org.pgstrata.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;

/** Runs the command line in-process and captures what it prints and its exit code. */
public record CliRun(int exitCode, String out, String err) {

    public static CliRun run(String... args) {
        return withEnv(System.getenv(), args);
    }

    /**
     * Runs it with {@code env} as the environment that the configuration file's defaults give way
     * to (the code below the command line still reads the process's own).
     */
    public static CliRun withEnv(java.util.Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Cli.run(new PrintWriter(out, true), new PrintWriter(err, true), env, args);
        return new CliRun(code, out.toString(), err.toString());
    }

    public List<String> errLines() {
        return Arrays.stream(err.split("\n")).filter(l -> !l.isBlank()).toList();
    }
}
