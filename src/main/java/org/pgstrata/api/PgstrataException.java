package org.pgstrata.api;

/**
 * A failure a user can act on: what happened (with the values involved) and what to do about it.
 * The command line prints {@link #oneLine()} and exits with {@link ErrorCode#exitCode()}.
 */
public class PgstrataException extends RuntimeException {
    private final ErrorCode code;
    private final String hint;

    public PgstrataException(ErrorCode code, String message, String hint) {
        this(code, message, hint, null);
    }

    public PgstrataException(ErrorCode code, String message, String hint, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.hint = hint;
    }

    public ErrorCode code() {
        return code;
    }

    /** What to do about it; may be null when there is nothing sensible to suggest. */
    public String hint() {
        return hint;
    }

    /** The message and hint as the single line the command line prints. */
    public String oneLine() {
        String line = getMessage();
        if (hint != null && !hint.isBlank()) {
            line = line + "; hint: " + hint;
        }
        return joinLines(line);
    }

    /**
     * {@code text} as one line: each line break, with the spaces around it, becomes one space
     * (a library's message, such as Tink's or the AWS SDK's, may span lines; an error is one line).
     */
    public static String joinLines(String text) {
        return text.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * When {@code t} is, or was caused by, the heap running out: the error to report instead of
     * an internal error, with the heap's size and how to raise it. Null otherwise.
     */
    public static PgstrataException outOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                long max = Runtime.getRuntime().maxMemory() >> 20;
                return new PgstrataException(ErrorCode.OUT_OF_MEMORY, "out of memory: the JVM's heap of " + max
                        + " MiB is too small for this command (" + c.getMessage() + ")",
                        "run it again with a larger heap, e.g. PGSTRATA_JAVA_OPTS=-Xmx2g");
            }
        }
        return null;
    }
}
