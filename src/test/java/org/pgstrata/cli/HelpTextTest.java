package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * --help, man pages and completion come from the same model: every command and every option and
 * parameter has a description, and none stops mid-sentence.
 */
class HelpTextTest {
    private static void collect(CommandLine cl, List<CommandSpec> out) {
        out.add(cl.getCommandSpec());
        for (var e : cl.getSubcommands().entrySet()) {
            if (!e.getKey().equals("help")) {
                collect(e.getValue(), out);
            }
        }
    }

    /** Ends as a sentence does: a full stop, or a closing bracket or quote after one, or a colon before an example. */
    private static boolean finished(String text) {
        String t = text.strip();
        return t.endsWith(".") || t.endsWith(".)") || t.endsWith(".\"") || t.endsWith(":") || t.endsWith(".'") || t.endsWith("?");
    }

    @Test
    void everyCommandOptionAndParameter_hasAFinishedDescription() {
        List<CommandSpec> specs = new ArrayList<>();
        collect(Cli.commandLine(), specs);
        assertThat(specs).as("commands, subcommands included").hasSizeGreaterThan(30);
        assertThat(specs.stream().mapToInt(c -> c.args().size()).sum()).as("options and parameters").isGreaterThan(300);
        List<String> missing = new ArrayList<>();
        for (CommandSpec spec : specs) {
            String[] d = spec.usageMessage().description();
            if (d.length == 0 || !finished(String.join(" ", d))) {
                missing.add(spec.qualifiedName() + ": its description " + (d.length == 0 ? "is missing" : "ends '" + d[d.length - 1] + "'"));
            }
            for (ArgSpec a : spec.args()) {
                if (a.hidden()) {
                    continue;
                }
                String[] ad = a.description();
                String name = a.isOption() ? ((CommandLine.Model.OptionSpec) a).longestName() : a.paramLabel();
                if (ad.length == 0 || String.join(" ", ad).isBlank()) {
                    missing.add(spec.qualifiedName() + " " + name + ": no description");
                } else if (!finished(String.join(" ", ad))) {
                    missing.add(spec.qualifiedName() + " " + name + ": ends '" + ad[ad.length - 1] + "'");
                }
            }
        }
        assertThat(missing).isEmpty();
    }
}
