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

    /** Each command list (the top one, and those of cluster, demo, repo and wal) gives every command a whole first sentence. */
    @Test
    void commandLists_showEachCommandsFirstSentence_notAFragment() {
        CommandLine root = Cli.commandLine();
        List<CommandLine> lists = new ArrayList<>(List.of(root));
        root.getSubcommands().values().stream().filter(c -> !c.getSubcommands().isEmpty() && !c.getCommandName().equals("help"))
                .forEach(lists::add);
        assertThat(lists).hasSizeGreaterThanOrEqualTo(5);
        List<String> fragments = new ArrayList<>();
        for (CommandLine cl : lists) {
            String usage = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
            String section = usage.substring(usage.indexOf("Commands:\n") + "Commands:\n".length());
            int end = section.indexOf("\n\n");
            section = end < 0 ? section : section.substring(0, end);
            java.util.Map<String, String> entries = new java.util.LinkedHashMap<>();
            String current = null;
            for (String line : section.split("\n")) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("^  (\\S+)\\s+(.*)$").matcher(line);
                if (m.matches()) {
                    current = m.group(1);
                    entries.put(current, m.group(2).strip());
                } else if (current != null && line.startsWith("   ")) {
                    entries.put(current, entries.get(current) + " " + line.strip());
                }
            }
            assertThat(entries.keySet()).as(cl.getCommandSpec().qualifiedName()).containsAll(cl.getSubcommands().keySet());
            entries.forEach((name, text) -> {
                if (!finished(text)) {
                    fragments.add(cl.getCommandSpec().qualifiedName() + " " + name + ": '" + text + "'");
                }
            });
        }
        assertThat(fragments).isEmpty();
        String top = root.getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertThat(top).contains("Check that a repository can be restored from, as a monitoring plugin (Nagios,")
                .doesNotContain("It only\n");
        assertThat(root.getSubcommands().get("wal").getUsageMessage(CommandLine.Help.Ansi.OFF)).contains("--repo DIR %p'.")
                .doesNotContain("%%p");
    }

    @Test
    void sentencesSplitAcrossSourceLines_areJoined_paragraphsAndWholeLinesStay() {
        assertThat(Cli.joinSentences(new String[] {"One sentence.", "A second that runs", "on here. And", "a third.", "", "Next:",
            "- an item.", "unfinished"}))
                .containsExactly("One sentence.", "A second that runs on here. And a third.", "", "Next:", "- an item.", "unfinished");
        assertThat(Cli.summary(new String[] {"Show what it does: per item, this. Then more."})).isEqualTo("Show what it does: per item, this.");
        assertThat(Cli.summary(new String[] {"No full stop here"})).isEqualTo("No full stop here");
    }

    /**
     * The exit codes under --help are one paragraph that picocli wraps to the help's width: no
     * line breaks where a source line happened to end (it printed "40" at the end of one line,
     * "archive_command not archiving into the" alone on the next, "repository, 41 ..." after), and
     * every exit code is listed with what it means.
     */
    @Test
    void rootHelp_exitCodes_areOneParagraphWrappedToTheWidth_andListEveryCode() {
        CliRun help = CliRun.run("--help");
        assertThat(help.exitCode()).isZero();
        String out = help.out();
        String paragraph = out.substring(out.indexOf("Exit codes:"));
        List<String> lines = paragraph.lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).hasSizeGreaterThan(3);
        for (int i = 0; i < lines.size() - 1; i++) {
            String next = lines.get(i + 1).strip();
            String[] words = next.split(" ");
            // A code is kept with the first word of its meaning: together they are what did not fit.
            String firstWord = words[0].matches("\\d+") && words.length > 1 ? words[0] + " " + words[1] : words[0];
            assertThat(lines.get(i).length() + 1 + firstWord.length()).as("line %d of the exit codes is filled before it breaks: '%s' / '%s'",
                    i, lines.get(i), next).isGreaterThan(99);
            assertThat(lines.get(i).strip()).as("an exit code stays with its meaning").doesNotMatch(".*\\b\\d+$");
        }
        String joined = String.join(" ", lines).replaceAll("\\s+", " ");
        for (org.pgstrata.api.ErrorCode code : org.pgstrata.api.ErrorCode.values()) {
            assertThat(joined).as(code.name()).containsPattern("(: |, )" + code.exitCode() + " [a-zA-Z]");
        }
        // docs/errors.md says every exit code is listed here: those that no ErrorCode holds too (an interrupted
        // command; wal get's answers to restore_command).
        assertThat(joined).containsPattern("130 or 143 interrupted").contains("1 not in the archive").contains("126 damaged")
                .contains("128 any other failure");
    }
}
