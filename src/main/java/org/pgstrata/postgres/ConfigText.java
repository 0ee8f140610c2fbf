package org.pgstrata.postgres;

import java.util.ArrayList;
import java.util.List;

/**
 * postgresql.conf's syntax, as PostgreSQL's own lexer (guc-file.l) reads it: one
 * {@code name [=] value} per line, {@code #} starts a comment outside quotes, a value is a
 * single-quoted string ('' and backslash escapes) or one bare word. Enough to find the include
 * directives and the settings that name files, and to comment a setting out.
 */
public final class ConfigText {
    private ConfigText() {
    }

    /** One setting line: its name (lower case), its value decoded, and its index among the text's lines. */
    public record Setting(String name, String value, int line) {
    }

    /** Every setting line of {@code text}, include directives among them, in order. */
    public static List<Setting> settings(String text) {
        List<Setting> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Setting s = parse(lines[i], i);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    private static Setting parse(String line, int index) {
        int i = skipSpace(line, 0);
        int start = i;
        while (i < line.length() && (Character.isLetterOrDigit(line.charAt(i)) || line.charAt(i) == '_' || line.charAt(i) == '.')) {
            i++;
        }
        if (i == start) {
            return null; // blank, comment, or not a setting
        }
        String name = line.substring(start, i).toLowerCase(java.util.Locale.ROOT);
        i = skipSpace(line, i);
        if (i < line.length() && line.charAt(i) == '=') {
            i = skipSpace(line, i + 1);
        }
        if (i >= line.length()) {
            return null;
        }
        if (line.charAt(i) == '\'') {
            StringBuilder v = new StringBuilder();
            for (int j = i + 1; j < line.length(); j++) {
                char c = line.charAt(j);
                if (c == '\'') {
                    if (j + 1 < line.length() && line.charAt(j + 1) == '\'') {
                        v.append('\'');
                        j++;
                        continue;
                    }
                    return new Setting(name, v.toString(), index);
                }
                if (c == '\\' && j + 1 < line.length()) {
                    char n = line.charAt(++j);
                    switch (n) {
                        case 'b' -> v.append('\b');
                        case 'f' -> v.append('\f');
                        case 'n' -> v.append('\n');
                        case 'r' -> v.append('\r');
                        case 't' -> v.append('\t');
                        default -> {
                            if (n >= '0' && n <= '7') {
                                int k = j;
                                int octal = 0;
                                while (k < line.length() && k < j + 3 && line.charAt(k) >= '0' && line.charAt(k) <= '7') {
                                    octal = octal * 8 + (line.charAt(k) - '0');
                                    k++;
                                }
                                v.append((char) octal);
                                j = k - 1;
                            } else {
                                v.append(n);
                            }
                        }
                    }
                    continue;
                }
                v.append(c);
            }
            return null; // unterminated: PostgreSQL refuses the file, and so would its server
        }
        int end = i;
        while (end < line.length() && !Character.isWhitespace(line.charAt(end)) && line.charAt(end) != '#') {
            end++;
        }
        return new Setting(name, line.substring(i, end), index);
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** {@code text} with every line that sets {@code name} commented out, {@code why} said beside it. */
    public static String commentOut(String text, String name, String why) {
        String[] lines = text.split("\n", -1);
        String note = ConfValue.comment(why); // a line break in why (a path) must not end the comment
        for (Setting s : settings(text)) {
            if (s.name().equals(name)) {
                lines[s.line()] = "#" + lines[s.line()] + "  " + note.substring(0, note.length() - 1);
            }
        }
        return String.join("\n", lines);
    }

    /**
     * {@code text} with every include, include_if_exists and include_dir directive that names {@code from} by its absolute
     * path made to name {@code to} instead; the old line is kept as a comment above it.
     */
    public static String redirectInclude(String text, String from, String to, String why) {
        String[] lines = text.split("\n", -1);
        for (Setting s : settings(text)) {
            if ((s.name().equals("include") || s.name().equals("include_if_exists") || s.name().equals("include_dir"))
                    && s.value().equals(from)) {
                String note = ConfValue.comment(why);
                lines[s.line()] = "#" + lines[s.line()] + "  " + note.substring(0, note.length() - 1) + "\n" + s.name() + " = "
                        + ConfValue.quote(to);
            }
        }
        return String.join("\n", lines);
    }
}
