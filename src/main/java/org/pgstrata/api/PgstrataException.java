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
        return line.replace('\n', ' ');
    }
}
