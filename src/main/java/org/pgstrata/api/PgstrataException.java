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

    /** The message and hint as the single line the command line prints (the hint as {@link #causeHint} corrects it). */
    public String oneLine() {
        String line = getMessage();
        String h = causeHint(this, hint);
        if (h != null && !h.isBlank()) {
            line = line + "; hint: " + h;
        }
        return joinLines(line);
    }

    /**
     * {@code hint}, unless what {@code failure} says shows another cause than the one it names.
     * Out of file descriptors (EMFILE, "Too many open files"), whatever the place, the limit is
     * the cause; and a failure in the temporary directory that was told to "free space" came
     * from a TMPDIR that does not exist or cannot be written, when it is so. Both were told to
     * free space, which helps neither.
     */
    static String causeHint(Throwable failure, String hint) {
        StringBuilder said = new StringBuilder();
        boolean server = false; // the server's words: its descriptors, not ours
        for (Throwable c = failure; c != null && said.length() < 100_000; c = c.getCause()) {
            said.append(c.getMessage()).append('\n');
            server |= c instanceof java.sql.SQLException;
        }
        if (!server && said.indexOf("Too many open files in system") >= 0) {
            return "the system ran out of file descriptors (ENFILE: fs.file-max, /proc/sys/fs/file-nr), not this process:"
                    + " find what holds them, or raise the system's limit, then run it again";
        }
        if (!server && said.indexOf("Too many open files") >= 0) {
            String limit = openFilesLimit();
            return "the process ran out of file descriptors: raise its open-files limit (ulimit -n" + (limit == null ? "" : ", " + limit + " now")
                    + "; LimitNOFILE= in a systemd unit), then run it again";
        }
        String tmp = System.getProperty("java.io.tmpdir");
        if (hint == null || !hint.contains("free space") || tmp == null || tmp.isEmpty() || said.indexOf(tmp) < 0) {
            return hint;
        }
        java.nio.file.Path t = java.nio.file.Path.of(tmp);
        if (!java.nio.file.Files.isDirectory(t)) {
            return "the temporary directory " + tmp + " (TMPDIR) does not exist: create it, or set TMPDIR to a directory that exists";
        }
        if (!java.nio.file.Files.isWritable(t)) {
            boolean readOnly;
            try {
                readOnly = java.nio.file.Files.getFileStore(t).isReadOnly();
            } catch (java.io.IOException e) {
                readOnly = false;
            }
            return "the temporary directory " + tmp + " (TMPDIR) cannot be written (" + (readOnly ? "a read-only file system" : "no permission")
                    + "): set TMPDIR to a writable directory with room";
        }
        return hint;
    }

    /** The soft limit on open files, as /proc/self/limits says (Linux); null elsewhere. */
    private static String openFilesLimit() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) {
                    String[] f = l.substring("Max open files".length()).trim().split("\\s+");
                    return f.length > 0 ? f[0] : null;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: the hint says ulimit -n without the number
        }
        return null;
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
        return outOfMemory(t, Runtime.getRuntime().maxMemory());
    }

    /**
     * {@link #outOfMemory(Throwable)} for a heap of {@code heapBytes}. The hint names a heap twice that, in whole GiB, 2 GiB at
     * least: a fixed -Xmx2g told a command that ran out under -Xmx2g to run again with the heap it had.
     */
    static PgstrataException outOfMemory(Throwable t, long heapBytes) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                long max = heapBytes >> 20;
                long suggestedGib = Math.max(2, (2 * heapBytes + (1L << 30) - 1) >> 30);
                return new PgstrataException(ErrorCode.OUT_OF_MEMORY, "out of memory: the JVM's heap of " + max
                        + " MiB is too small for this command (" + c.getMessage() + ")",
                        "run it again with a larger heap, e.g. PGSTRATA_JAVA_OPTS=-Xmx" + suggestedGib + "g");
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
}
