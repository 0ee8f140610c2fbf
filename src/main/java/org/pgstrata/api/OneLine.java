package org.pgstrata.api;

/**
 * Text that holds names or paths (a database's, a tablespace's location, a repository's path),
 * made to stay on one line where pgstrata prints it: a line break, another control character, or
 * one that changes how the text around it shows (a line separator, a direction override) is
 * written as an escape, so that a name cannot forge a line of pgstrata's own ("pgstrata: error:
 * ...") in a terminal, a log or the server log that archive_command and restore_command write to.
 * No library is loaded: wal push and wal get use it on their lean path.
 */
public final class OneLine {
    private OneLine() {
    }

    /** {@code text} with its invisible characters escaped; as it is when it has none (null stays null). */
    public static String of(String text) {
        return text == null || text.chars().noneMatch(OneLine::invisible) ? text : escaped(text, false);
    }

    /** {@code text} escaped as {@link #of}, and with {@code quotes} its double quotes and backslashes too (for a name in quotes). */
    public static String escaped(String text, boolean quotes) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        text.chars().forEach(c -> {
            if (quotes && (c == '"' || c == '\\')) {
                sb.append('\\').append((char) c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (invisible(c)) {
                sb.append(String.format("\\u%04x", c));
            } else {
                sb.append((char) c);
            }
        });
        return sb.toString();
    }

    /** A control character, or one that changes how the text around it shows (a line separator, a direction override). */
    public static boolean invisible(int c) {
        int type = Character.getType(c);
        return Character.isISOControl(c) || type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
    }
}
