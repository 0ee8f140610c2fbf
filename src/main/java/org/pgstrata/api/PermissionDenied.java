package org.pgstrata.api;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;

/**
 * A file operation the operating system refused (EACCES), as one line a user can act on: the
 * path, who owns it with which mode, and which user ran the command. The usual case is a
 * repository made by root and then used by the postgres user (archive_command, a cron job).
 */
public final class PermissionDenied {
    private PermissionDenied() {
    }

    /** The directories of the repositories this process opened (a refusal inside one is the repository's owner's). */
    private static final java.util.Set<Path> REPOSITORIES = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Notes that {@code root} is a repository's directory: a refusal inside it says to give the user the whole repository. */
    public static void repository(Path root) {
        REPOSITORIES.add(root.toAbsolutePath().normalize());
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
        Path shown = visible(path);
        String message = "permission denied: user " + user + " cannot access " + path;
        if (shown == null) {
            return new PgstrataException(ErrorCode.PERMISSION_DENIED, message, "run pgstrata as the user that owns it", e);
        }
        String owner = attributes(shown).owner().getName();
        message += ownerAndMode(path);
        Path repository = REPOSITORIES.stream().filter(path.normalize()::startsWith).findFirst().orElse(null);
        String hint;
        if (owner.equals(user)) {
            hint = "give its owner access again: chmod u+rwX " + Self.quote(shown.toString());
        } else if (repository != null) {
            hint = "run the command as " + owner + ", the owner; or, for " + user + " to use it, make " + user
                    + " the owner of the whole repository (chown -R " + user + ": " + Self.quote(repository.toString()) + ")";
        } else {
            // not the repository (a restore target, a data directory, a scratch directory): chown -R of the repository would not
            // help, and no chown is offered: the directory may be a system one (/srv, /var/lib/postgresql), or a data directory
            // that PostgreSQL refuses once another user owns it
            hint = "run the command as " + owner + ", the owner of " + shown + "; or choose a directory " + user + " may write";
        }
        return new PgstrataException(ErrorCode.PERMISSION_DENIED, message, hint, e);
    }

    /**
     * " (owned by USER:GROUP, mode 0640)" for {@code path}, or, when this user cannot see it, for
     * the nearest directory above it that it can (" (/a/b is owned by ...)": the one that bars the
     * way); empty when none can be told.
     */
    public static String ownerAndMode(Path path) {
        Path absolute = path.toAbsolutePath();
        Path shown = visible(absolute);
        if (shown == null) {
            return "";
        }
        PosixFileAttributes a = attributes(shown);
        return " (" + (shown.equals(absolute) ? "" : shown + " is ") + "owned by " + a.owner().getName() + ":" + a.group().getName()
                + ", mode " + octal(a) + ")";
    }

    /** {@code path}, or the nearest directory above it whose attributes this user can read; null for none. */
    private static Path visible(Path path) {
        for (Path p = path; p != null; p = p.getParent()) {
            if (attributes(p) != null) {
                return p;
            }
        }
        return null;
    }

    /** The attributes of what {@code p} leads to (its modes are what access needs), else of a link that leads nowhere; null for none. */
    private static PosixFileAttributes attributes(Path p) {
        for (LinkOption[] options : List.of(new LinkOption[0], new LinkOption[] {LinkOption.NOFOLLOW_LINKS})) {
            try {
                return Files.readAttributes(p, PosixFileAttributes.class, options);
            } catch (IOException | UnsupportedOperationException | SecurityException x) {
                // next, or none
            }
        }
        return null;
    }

    private static String octal(PosixFileAttributes a) {
        int mode = 0;
        for (PosixFilePermission p : a.permissions()) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ is ordinal 0, the top bit of 0777
        }
        return String.format("%04o", mode);
    }
}
