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

    /**
     * A path that the JVM cannot encode as a file name: Java 17 takes the file names' character set
     * from the locale, ASCII under C or POSIX (the launchers choose C.UTF-8 then; a JVM started
     * otherwise does not). Said as such, with the locale to use; null when {@code t} is not that.
     */
    public static PgstrataException unencodablePath(Throwable t) {
        String charset = System.getProperty("sun.jnu.encoding", "");
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.nio.file.InvalidPathException e && !charset.equalsIgnoreCase("UTF-8")) {
                return new PgstrataException(ErrorCode.USAGE, "the path " + e.getInput() + " cannot be a file name in this locale's character set ("
                        + charset + "): " + e.getReason(), "run pgstrata under a UTF-8 locale (LC_ALL=C.UTF-8), as its launcher does", e);
            }
        }
        return null;
    }

    /**
     * zstd-jni unpacks its native library into java.io.tmpdir (TMPDIR) at start unless pgstrata's
     * cache gives it one; a full or read-only TMPDIR fails its class initialiser with "Cannot unpack
     * NAME: REASON" (an Error, which no command catches). Said as an I/O error naming the directory;
     * null when {@code t} is not that.
     */
    public static PgstrataException nativeLibraryUnpack(Throwable t) {
        PgstrataException found = unpackFailure(t);
        if (found == null && (String.valueOf(t) + " " + t.getCause()).toLowerCase(java.util.Locale.ROOT).contains("zstd")) {
            // A class that uses zstd-jni (ZstdFrames) failed because Zstd did, on another thread: the
            // JVM keeps only the text of that failure, not its cause. Zstd's own says why.
            try {
                Class.forName("com.github.luben.zstd.Zstd");
            } catch (ClassNotFoundException | LinkageError e) {
                found = unpackFailure(e);
            }
        }
        return found;
    }

    private static PgstrataException unpackFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = c.getMessage();
            int at = c instanceof LinkageError && m != null ? m.indexOf("Cannot unpack ") : -1;
            if (at >= 0) {
                String what = m.substring(at + "Cannot unpack ".length());
                int thread = what.indexOf(" [in thread ");
                what = thread >= 0 ? what.substring(0, thread) : what;
                int colon = what.indexOf(": ");
                String lib = colon >= 0 ? what.substring(0, colon) : what;
                String why = colon >= 0 ? what.substring(colon + 2) : "failed";
                String tmp = System.getProperty("java.io.tmpdir");
                return new PgstrataException(ErrorCode.IO, "cannot unpack the compression library " + lib + " into the temporary directory "
                        + tmp + ": " + why, "free space in " + tmp + ", or set TMPDIR to a directory with room", c);
            }
        }
        return null;
    }
}
