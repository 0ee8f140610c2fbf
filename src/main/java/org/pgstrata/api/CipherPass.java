package org.pgstrata.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the passphrase of an encrypted repository comes from, for the command running now:
 * --cipher-pass-file, else PGSTRATA_CIPHER_PASS, else the stanza's cipher-pass. Never the
 * command line itself (ps shows it), and never written anywhere by pgstrata. The command line
 * sets it for the length of one command ({@link #use}); without that (the engines called
 * directly) the process environment's PGSTRATA_CIPHER_PASS is used.
 *
 * <p>Also whether a repository that this command creates is to be encrypted ({@code repo init
 * --encrypt}, or the stanza's {@code encrypt = true}).
 */
public final class CipherPass {
    /** A passphrase and where it came from (for messages; never the passphrase itself). */
    public record Source(String origin, char[] passphrase) {
    }

    public static final String ENV = "PGSTRATA_CIPHER_PASS";

    private static volatile Source current;
    private static volatile boolean set;
    private static volatile boolean encryptNew;

    private CipherPass() {
    }

    /** The passphrase for this command, or null when none was given. */
    public static Source current() {
        if (set) {
            return current;
        }
        String env = fromEnvironment(System.getenv(), ENV);
        return env == null || env.isEmpty() ? null : new Source(ENV, env.toCharArray());
    }

    /**
     * {@code name}'s value in {@code env}, a passphrase's variable: as its bytes say in UTF-8. A JVM
     * started under the C or POSIX locale (archive_command and restore_command run java directly, in
     * the server's environment) decodes the environment as ASCII, so that a passphrase with any
     * other character reads as another one (each such byte becomes the same replacement): wrong
     * for a repository made under a UTF-8 locale. The process's own value is then read again from
     * /proc/self/environ, as UTF-8. A value that is not the process's (a map of the caller's) or
     * not valid UTF-8 stays as it is.
     */
    public static String fromEnvironment(java.util.Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || decodesAsUtf8() || !value.equals(System.getenv(name))) {
            return value;
        }
        try {
            byte[] all = Files.readAllBytes(Path.of("/proc/self/environ"));
            byte[] prefix = (name + "=").getBytes(StandardCharsets.US_ASCII);
            int start = 0;
            for (int i = 0; i <= all.length; i++) {
                if (i == all.length || all[i] == 0) {
                    if (i - start >= prefix.length && java.util.Arrays.equals(all, start, start + prefix.length, prefix, 0, prefix.length)) {
                        return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(all, start + prefix.length,
                                i - start - prefix.length)).toString();
                    }
                    start = i + 1;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc, or not UTF-8: the JVM's reading stands
        }
        return value;
    }

    /** Whether this JVM read its environment as UTF-8 (Java 17 decodes it with the default charset, later ones with sun.jnu.encoding). */
    private static boolean decodesAsUtf8() {
        String jnu = System.getProperty("sun.jnu.encoding", "UTF-8");
        return java.nio.charset.Charset.defaultCharset().equals(StandardCharsets.UTF_8) && (jnu.equalsIgnoreCase("UTF-8") || jnu.equalsIgnoreCase("UTF8"));
    }

    /**
     * The environment a server that this command starts needs so that its archive_command and
     * restore_command (pgstrata processes of their own) find this command's passphrase: empty
     * when there is none. For the lab's own clusters (cluster init/start, compare); a production
     * server gets it from its stanza or its service's environment.
     */
    public static java.util.Map<String, String> environment() {
        Source s = current();
        return s == null ? java.util.Map.of() : java.util.Map.of(ENV, new String(s.passphrase()));
    }

    /**
     * Takes the repository's passphrases out of {@code env}, a client program's environment
     * (pg_dump, pg_restore, psql): they read nothing of the repository, and a passphrase there
     * shows in /proc/PID/environ, a core dump and any wrapper script's log. The servers pgstrata
     * starts, whose archive_command and restore_command need it, are not started through this.
     */
    public static void keepOut(java.util.Map<String, String> env) {
        env.remove(ENV);
        env.remove("PGSTRATA_NEW_CIPHER_PASS");
    }

    /** Whether a repository created by this command is to be encrypted. */
    public static boolean encryptNew() {
        return encryptNew;
    }

    /** Sets the passphrase (null: none) and the choice for new repositories, until {@link #clear}. */
    public static void use(Source source, boolean encrypt) {
        current = source;
        encryptNew = encrypt;
        set = true;
    }

    /** Asks for encryption of a repository this command creates (repo init --encrypt). */
    public static void requestEncryption() {
        encryptNew = true;
    }

    /** Takes the passphrase from {@code file} (--cipher-pass-file): its first line, the line end left out. */
    public static void useFile(Path file) {
        refuseWorldReadable(file);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            // Java's own words ("Input length = 1") say nothing of the file.
            throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "the passphrase file " + file + " is not UTF-8 text (an ISO-8859 "
                    + "or other encoding?), so its passphrase cannot be told", "write it in UTF-8 (iconv -f LATIN1 -t UTF-8), the "
                    + "encoding PGSTRATA_CIPHER_PASS and the stanza's cipher-pass are read in");
        } catch (java.nio.file.NoSuchFileException e) {
            // Java's message is the path again: "cannot read the passphrase file F: F" said nothing of what was wrong.
            throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "the passphrase file " + file + " does not exist",
                    "--cipher-pass-file names a file holding the repository's passphrase on its first line");
        } catch (java.nio.file.AccessDeniedException e) {
            // Exit 45 with the owner and mode, as for every other file: a file that was given is no missing passphrase (47).
            throw new PgstrataException(ErrorCode.PERMISSION_DENIED, "permission denied: user " + System.getProperty("user.name", "?")
                    + " cannot read the passphrase file " + file + PermissionDenied.ownerAndMode(file),
                    "make it readable by the user that runs pgstrata (for archive_command and restore_command: the server's user), "
                            + "owner-only (600) or for its group (640)");
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "cannot read the passphrase file " + file + ": " + e.getMessage(),
                    "--cipher-pass-file names a file holding the repository's passphrase on its first line");
        }
        String line = firstLine(text);
        if (line.isEmpty()) {
            throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "the passphrase file " + file + " is empty",
                    "write the repository's passphrase on its first line");
        }
        current = new Source("--cipher-pass-file " + file, line.toCharArray());
        set = true;
    }

    /**
     * Refuses a passphrase file that every user may read, as a configuration file that holds
     * secrets is refused: whoever reads it reads every backup. A pipe ({@code <(pass show db)})
     * or a file system without POSIX modes is left to its own rules.
     */
    static void refuseWorldReadable(Path file) {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> perms;
        try {
            if (!Files.isRegularFile(file)) {
                return;
            }
            perms = Files.getPosixFilePermissions(file);
        } catch (IOException | UnsupportedOperationException e) {
            return; // unreadable: the read below says so
        }
        if (perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
            throw new PgstrataException(ErrorCode.USAGE, "the passphrase file " + file + " can be read by every user ("
                    + java.nio.file.attribute.PosixFilePermissions.toString(perms) + "), and with it every backup; nothing was read",
                    "chmod o-r it: 600, or 640 for the group of the user that runs pgstrata");
        }
    }

    /** A passphrase file's passphrase: its first line, without the line end. */
    public static String firstLine(String text) {
        int end = text.indexOf('\n');
        String line = end < 0 ? text : text.substring(0, end);
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    /**
     * Refuses {@code passphrase} as the one a repository's key is to be wrapped for when it holds a
     * line end: a --cipher-pass-file gives only its first line, so no file could ever open that
     * repository, and a value read from a file into the environment (a container's secret) often
     * keeps its newline unseen. {@code what} names it ("the passphrase from PGSTRATA_CIPHER_PASS").
     */
    public static void refuseLineEnd(char[] passphrase, String what) {
        for (char c : passphrase) {
            if (c == '\n' || c == '\r') {
                throw new PgstrataException(ErrorCode.USAGE, what + " holds a line end, which a "
                        + "--cipher-pass-file cannot (it gives its first line), so no file could open the repository; nothing was written",
                        "give it without the line end (--cipher-pass-file FILE takes the file's first line without it)");
            }
        }
    }

    /** Back to the process environment's passphrase, and no encryption asked for. */
    public static void clear() {
        current = null;
        set = false;
        encryptNew = false;
    }
}
