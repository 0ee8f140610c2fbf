package org.pgstrata.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.Verbose;

/**
 * libpq's password file (~/.pgpass, or the file PGPASSFILE names): lines of
 * {@code hostname:port:database:username:password}, the first that matches wins; a field that is
 * just {@code *} matches anything, {@code \:} and {@code \\} stand for ':' and '\'; lines starting
 * with '#' are comments. A file that group or others can read or write is ignored, with a warning,
 * as libpq does. A Unix-socket connection is matched by its directory, and by {@code localhost}
 * when that is a default socket directory ({@code /var/run/postgresql} or {@code /tmp}) only: a
 * server in any other directory is not sent the local server's password.
 *
 * <p>pgjdbc reads the same file by itself, but without the permission check and only for the
 * host of its URL; this is read instead, and pgjdbc's own reading is switched off ({@link Db}).
 */
public final class PgPass {
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final Set<Path> WARNED = ConcurrentHashMap.newKeySet();

    private PgPass() {
    }

    /** The password for {@code s} from its password file, or null (no file, no matching line, or an ignored file). */
    public static String password(ConnectionSettings s) {
        Path file = s.passfile();
        if (file == null) {
            return null;
        }
        List<String> lines;
        try {
            if (!Files.isRegularFile(file)) {
                if (Files.exists(file)) {
                    warnOnce(file, "password file " + file + " is not a plain file; it is ignored");
                }
                return null;
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
                warnOnce(file, "password file " + file + " has group or world access; permissions should be u=rw (0600) or less;"
                        + " it is ignored");
                return null;
            }
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            warnOnce(file, "cannot read password file " + file + ": " + e.getMessage());
            return null;
        }
        return find(lines, s);
    }

    /** The password of the first of {@code lines} that matches {@code s}, or null. */
    static String find(List<String> lines, ConnectionSettings s) {
        String port = Integer.toString(s.port());
        for (String raw : lines) {
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int[] at = {0};
            boolean host = s.isSocket() && isDefaultSocketDir(s.host())
                    ? matchesAny(line, at, "localhost", s.host())
                    : field(line, at, s.host());
            if (host && field(line, at, port) && field(line, at, s.dbname()) && field(line, at, s.user())) {
                return unescape(line.substring(at[0]));
            }
        }
        return null;
    }

    /** Whether {@code dir} is a default socket directory, the only one libpq reads {@code localhost} as. */
    private static boolean isDefaultSocketDir(String dir) {
        String d = dir.length() > 1 && dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
        return Libpq.DEFAULT_SOCKET_DIRS.contains(d);
    }

    private static boolean matchesAny(String line, int[] at, String... values) {
        for (String v : values) {
            int[] probe = {at[0]};
            if (field(line, probe, v)) {
                at[0] = probe[0];
                return true;
            }
        }
        return false;
    }

    /** Does the field at {@code at[0]} match {@code value}? On a match {@code at[0]} moves past its ':'. */
    private static boolean field(String line, int[] at, String value) {
        int i = at[0];
        if (line.startsWith("*:", i)) {
            at[0] = i + 2;
            return true;
        }
        int v = 0;
        while (i < line.length() && line.charAt(i) != ':') {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                c = line.charAt(++i);
            }
            if (v >= value.length() || value.charAt(v) != c) {
                return false;
            }
            i++;
            v++;
        }
        if (i >= line.length() || v != value.length()) {
            return false;
        }
        at[0] = i + 1;
        return true;
    }

    /** The password field: backslashes escape the next character; an unescaped ':' ends it. */
    private static String unescape(String rest) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == ':') {
                break;
            }
            if (c == '\\' && i + 1 < rest.length()) {
                c = rest.charAt(++i);
            }
            b.append(c);
        }
        return b.toString();
    }

    private static void warnOnce(Path file, String message) {
        if (WARNED.add(file)) {
            Verbose.warn(message);
        }
    }
}
