package org.pgstrata.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.List;

/** JSON and table output for commands. */
final class Output {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.ALWAYS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private Output() {
    }

    static void json(PrintWriter out, Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        out.flush();
    }

    /** A plain text table with a header row, columns padded to their widest cell. */
    static void table(PrintWriter out, List<String> header, List<List<String>> cells) {
        // No cell may break its row (a database's name in list's may hold a line break).
        List<List<String>> rows = cells.stream().map(r -> r.stream()
                .map(Output::line).toList()).toList();
        int[] w = new int[header.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], r.get(i) == null ? 1 : r.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendRow(sb, header, w);
        for (int i = 0; i < w.length; i++) {
            sb.append("-".repeat(w[i])).append(i < w.length - 1 ? "  " : "\n");
        }
        for (List<String> r : rows) {
            appendRow(sb, r, w);
        }
        out.print(sb);
        out.flush();
    }

    private static void appendRow(StringBuilder sb, List<String> cells, int[] w) {
        for (int i = 0; i < w.length; i++) {
            String c = cells.get(i) == null ? "-" : cells.get(i);
            sb.append(c).append(" ".repeat(w[i] - c.length()));
            sb.append(i < w.length - 1 ? "  " : "\n");
        }
    }

    /**
     * A database's or table's name as human output shows it: as it is when it is plain text;
     * otherwise in double quotes with the line breaks, other control characters, invisible
     * formatting characters (such as a right-to-left override), quotes and backslashes escaped
     * as in JSON. Such a name then stays on its line and cannot drive the terminal.
     */
    static String name(String name) {
        if (name == null || name.chars().noneMatch(c -> c == '"' || c == '\\' || org.pgstrata.api.OneLine.invisible(c))) {
            return name;
        }
        return '"' + org.pgstrata.api.OneLine.escaped(name, true) + '"';
    }

    /** A line of text that holds names (a warning, a table and why it was stored whole): its invisible characters escaped, so it stays one line. */
    static String line(String text) {
        return org.pgstrata.api.OneLine.of(text);
    }

    static String bytes(long b) {
        return org.pgstrata.api.Sizes.human(b);
    }
}
