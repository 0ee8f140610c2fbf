package org.pgstrata.postgres;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * Values for postgresql.conf and postgresql.auto.conf, quoted the way PostgreSQL's
 * configuration file parser (guc-file.l: the quoted-string token and DeescapeQuotedString)
 * reads them back: inside single quotes, {@code ''} is a quote and a backslash starts an escape
 * ({@code \n}, {@code \t}, octal {@code \ooo}, and {@code \x} for any other x). A value that only
 * doubles its quotes is therefore not data: {@code \047} in a path decodes to a quote and ends
 * the string early, which turns the rest of an archive_command into shell code. Every pgstrata
 * writer of a configuration file goes through {@link #line} or {@link #quote}.
 */
public final class ConfValue {
    private ConfValue() {
    }

    /** {@code name = 'value'} and a newline, for a configuration file. */
    public static String line(String name, String value) {
        if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?")) {
            throw new IllegalArgumentException("not a configuration parameter name: " + name);
        }
        return name + " = " + quote(value) + "\n";
    }

    /**
     * {@code # text} and a newline, for a configuration file: a line break (or any other control
     * character) in {@code text}, such as one in a path it names, is written as an escape, so
     * that the comment cannot end early and the rest be read as settings.
     */
    public static String comment(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 3).append("# ");
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch < 0x20 || ch == 0x7f) {
                sb.append(switch (ch) {
                    case '\n' -> "\\n";
                    case '\r' -> "\\r";
                    case '\t' -> "\\t";
                    default -> String.format("\\%03o", (int) ch);
                });
            } else {
                sb.append(ch);
            }
        }
        return sb.append('\n').toString();
    }

    /**
     * One directory as an element of a list setting such as unix_socket_directories, which the
     * server splits at commas and trims of blanks (SplitDirectoriesString) unless the element is
     * in double quotes: {@code /tmp/a,b} would otherwise be the two directories {@code /tmp/a}
     * and {@code b}. The result still goes through {@link #line} (or {@link #quote}).
     */
    public static String listElement(String directory) {
        return '"' + directory.replace("\"", "\"\"") + '"';
    }

    /**
     * {@code value} as a single-quoted configuration value that the server reads back as exactly
     * {@code value}. A NUL character cannot be stored (the server keeps values as C strings), so
     * it is refused.
     */
    public static String quote(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 8).append('\'');
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '\'' -> sb.append("''");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\0' -> throw new PgstrataException(ErrorCode.USAGE, "a configuration value cannot hold a NUL character: "
                        + value.replace('\0', '?'), "remove the NUL character from the path or name");
                default -> {
                    if (ch < 0x20 || ch == 0x7f) {
                        // Three octal digits always, so that a digit after it is not read as part of the escape.
                        sb.append('\\').append(String.format("%03o", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('\'').toString();
    }
}
