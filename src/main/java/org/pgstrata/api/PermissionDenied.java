package org.pgstrata.api;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;

/**
 * A file operation the operating system refused (EACCES), as one line a user can act on: the
 * path, who owns it with which mode, and which user ran the command. The usual case is a
 * repository made by root and then used by the postgres user (archive_command, a cron job).
 */
public final class PermissionDenied {
    private PermissionDenied() {
    }

    /** The first {@link AccessDeniedException} among {@code t} and its causes, as an error; null when there is none. */
    public static PgstrataException find(Throwable t) {
        int depth = 0;
        for (Throwable c = t; c != null && depth < 20; c = c.getCause(), depth++) {
            if (c instanceof PgstrataException p && p.code() == ErrorCode.PERMISSION_DENIED) {
                return p;
            }
            if (c instanceof AccessDeniedException a) {
                return of(a);
            }
        }
        return null;
    }

    /** {@code e} as an error that names the path, its owner and mode, and this process's user. */
    public static PgstrataException of(AccessDeniedException e) {
        String user = System.getProperty("user.name", "?");
        if (e.getFile() == null) {
            return new PgstrataException(ErrorCode.PERMISSION_DENIED, "permission denied for user " + user + ": " + e.getMessage(),
                    "run pgstrata as the user that owns the repository", e);
        }
        Path path = Path.of(e.getFile()).toAbsolutePath();
        // The path itself, or else the nearest directory above it that this user can see: the one that bars the way.
        Path shown = path;
        PosixFileAttributes attributes = null;
        while (shown != null && attributes == null) {
            try {
                attributes = Files.readAttributes(shown, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | UnsupportedOperationException | SecurityException x) {
                shown = shown.getParent();
            }
        }
        String message = "permission denied: user " + user + " cannot access " + path;
        if (attributes == null) {
            return new PgstrataException(ErrorCode.PERMISSION_DENIED, message, "run pgstrata as the user that owns it", e);
        }
        String owner = attributes.owner().getName();
        message += " (" + (shown.equals(path) ? "" : shown + " is ") + "owned by " + owner + ":" + attributes.group().getName() + ", mode "
                + octal(attributes) + ")";
        String hint = owner.equals(user)
                ? "give its owner access again: chmod u+rwX " + Self.quote(shown.toString())
                : "run the command as " + owner + ", the owner; or, for " + user + " to use it, make " + user
                        + " the owner of the whole repository (chown -R " + user + ": REPOSITORY)";
        return new PgstrataException(ErrorCode.PERMISSION_DENIED, message, hint, e);
    }

    private static String octal(PosixFileAttributes a) {
        int mode = 0;
        for (PosixFilePermission p : a.permissions()) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ is ordinal 0, the top bit of 0777
        }
        return String.format("%04o", mode);
    }
}
