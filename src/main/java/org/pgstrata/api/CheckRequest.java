package org.pgstrata.api;

import java.util.List;
import java.util.function.Function;

/**
 * What {@code pgstrata check} checks: the server behind {@code connection} and the repository at
 * {@code repo}. {@code archiveTarget} tells where an archive_command's {@code wal push} arguments
 * archive into (a repository location; the arguments may start with the shell's variable
 * assignments, {@link #ASSIGNMENT}, that the archive_command makes for it), or throws a {@link PgstrataException} saying why it
 * cannot be told; the command line resolves --stanza there. {@code timeoutSeconds}: how long the
 * switched segment may take to arrive while the archiver makes no progress. {@code pgdata} (null:
 * none given): the data directory that backups of this cluster name, which must be the server's.
 */
public record CheckRequest(String repo, ConnectionSettings connection, Function<List<String>, String> archiveTarget, int timeoutSeconds,
                           java.nio.file.Path pgdata) {
    /** A shell variable assignment ({@code NAME=value}), as it stands before a program in a command. */
    public static final java.util.regex.Pattern ASSIGNMENT = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*", java.util.regex.Pattern.DOTALL);

    /** Without a data directory to check against the server. */
    public CheckRequest(String repo, ConnectionSettings connection, Function<List<String>, String> archiveTarget, int timeoutSeconds) {
        this(repo, connection, archiveTarget, timeoutSeconds, null);
    }

    public CheckRequest {
        if (timeoutSeconds < 1) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --check-timeout " + timeoutSeconds, "give a number of seconds, at least 1");
        }
    }
}
