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
    static void table(PrintWriter out, List<String> header, List<List<String>> rows) {
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

    static String bytes(long b) {
        return org.pgstrata.api.Sizes.human(b);
    }
}
