package org.pgstrata.db;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * PostgreSQL's client programs for logical backups: pg_dump and pg_restore. They are not in the
 * bundled server binaries, so they are looked up in this order: --pg-bin, PGSTRATA_PG_BIN, each
 * directory of PATH, then the usual installation directories (Debian's /usr/lib/postgresql/N/bin,
 * the PGDG RPMs' /usr/pgsql-N/bin, /usr/local/pgsql/bin), newest major first.
 *
 * <p>pg_dump must be at least the server's major version (it refuses a newer server), and
 * pg_restore at least the major of the pg_dump that wrote an archive.
 */
public final class PgClient {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
    private static final List<Path> INSTALL_ROOTS = List.of(Path.of("/usr/lib/postgresql"), Path.of("/usr"), Path.of("/usr/local/pgsql"));

    private final Path program;
    private final int major;
    private final String version;

    private PgClient(Path program, int major, String version) {
        this.program = program;
        this.major = major;
        this.version = version;
    }

    public Path program() {
        return program;
    }

    public int major() {
        return major;
    }

    public String version() {
        return version;
    }

    /**
     * The program {@code name} (pg_dump or pg_restore) for a server or archive of major
     * {@code atLeast}. An explicit directory (--pg-bin, PGSTRATA_PG_BIN) is used as it is; the
     * search takes the first program found that is new enough.
     *
     * @param purpose what the program is for, for messages ("the server's PostgreSQL 17")
     */
    public static PgClient find(String name, int atLeast, String purpose, Path pgBin, Map<String, String> env) {
        Path explicit = pgBin;
        String source = "--pg-bin";
        if (explicit == null && env.get("PGSTRATA_PG_BIN") != null && !env.get("PGSTRATA_PG_BIN").isBlank()) {
            explicit = Path.of(env.get("PGSTRATA_PG_BIN"));
            source = "PGSTRATA_PG_BIN";
        }
        String install = "install PostgreSQL " + atLeast + "'s client programs (Debian: apt-get install postgresql-client-" + atLeast
                + ") or point --pg-bin at their bin directory";
        if (explicit != null) {
            Path p = explicit.resolve(name);
            if (!Files.isExecutable(p)) {
                throw new PgstrataException(ErrorCode.BINARIES, "no " + name + " in " + explicit + " (from " + source + ")", install);
            }
            PgClient c = probe(p);
            requireAtLeast(c, atLeast, purpose, install);
            return c;
        }
        List<PgClient> found = new ArrayList<>();
        for (Path dir : searchPath(env)) {
            Path p = dir.resolve(name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                try {
                    PgClient c = probe(p);
                    if (c.major >= atLeast) {
                        return c;
                    }
                    found.add(c);
                } catch (PgstrataException e) {
                    // a broken or foreign program of that name: keep looking
                }
            }
        }
        if (found.isEmpty()) {
            throw new PgstrataException(ErrorCode.BINARIES, "no " + name + " found (looked in PATH and the usual PostgreSQL directories)", install);
        }
        requireAtLeast(found.get(0), atLeast, purpose, install);
        throw new IllegalStateException("unreachable");
    }

    private static void requireAtLeast(PgClient c, int atLeast, String purpose, String install) {
        if (c.major < atLeast) {
            throw new PgstrataException(ErrorCode.CLIENT_TOO_OLD, c.program + " is version " + c.version + ", older than " + purpose
                    + "; version " + atLeast + " or newer is needed", install);
        }
    }

    /** Directories to search, in order, without duplicates. */
    static List<Path> searchPath(Map<String, String> env) {
        Set<Path> dirs = new LinkedHashSet<>();
        String path = env.get("PATH");
        if (path != null) {
            for (String d : path.split(":")) {
                if (!d.isBlank()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        String roots = env.get("PGSTRATA_PG_INSTALL_ROOTS"); // tests narrow the search with this
        List<Path> rootList = roots == null ? INSTALL_ROOTS : java.util.Arrays.stream(roots.split(":")).filter(s -> !s.isBlank()).map(Path::of).toList();
        for (Path root : rootList) {
            dirs.addAll(versionedBins(root));
        }
        return new ArrayList<>(dirs);
    }

    /** root/N/bin (Debian), root/pgsql-N/bin (PGDG RPMs) and root/bin, newest major first. */
    private static List<Path> versionedBins(Path root) {
        List<Path> result = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return result;
        }
        Pattern numbered = Pattern.compile("(?:pgsql-)?(\\d+)(?:\\.\\d+)?");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path d : ds) {
                if (numbered.matcher(d.getFileName().toString()).matches() && Files.isDirectory(d.resolve("bin"))) {
                    result.add(d.resolve("bin"));
                }
            }
        } catch (IOException e) {
            return result;
        }
        result.sort(Comparator.comparingInt((Path d) -> {
            Matcher m = numbered.matcher(d.getParent().getFileName().toString());
            return m.matches() ? Integer.parseInt(m.group(1)) : 0;
        }).reversed());
        if (Files.isDirectory(root.resolve("bin"))) {
            result.add(root.resolve("bin"));
        }
        return result;
    }

    private static PgClient probe(Path program) {
        String out;
        try {
            ProcessBuilder pb = new ProcessBuilder(program.toString(), "--version").redirectErrorStream(true);
            org.pgstrata.api.CipherPass.keepOut(pb.environment());
            Process p = pb.start();
            out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.BINARIES, "cannot run " + program + ": " + e.getMessage(), "check the PostgreSQL client installation");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgstrataException(ErrorCode.BINARIES, "interrupted while running " + program, null);
        }
        Matcher m = VERSION.matcher(out);
        if (!m.find()) {
            throw new PgstrataException(ErrorCode.BINARIES, "cannot tell the version of " + program + " from '" + out.strip() + "'",
                    "point --pg-bin at a PostgreSQL bin directory");
        }
        int major = Integer.parseInt(m.group(1));
        return new PgClient(program, major, m.group(1) + (m.group(2) != null ? "." + m.group(2) : ""));
    }

    /** The last {@code n} non-blank lines a client program wrote to {@code log}, joined for a one-line message. */
    public static String lastLines(java.nio.file.Path log, int n) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "(no message)" : String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return "(its messages could not be read)";
        }
    }

    /**
     * The last {@code n} non-blank lines a client program writes to {@code in} (read to its end),
     * joined as {@link #lastLines(java.nio.file.Path, int)} joins them.
     */
    public static String lastLines(java.io.InputStream in, int n) {
        return lastLines(in, n, w -> { });
    }

    /**
     * {@link #lastLines(java.io.InputStream, int)}, passing each warning of the program to
     * {@code warnings} as it comes ({@link Warnings}): a warning does not fail the program, and
     * would be lost otherwise.
     */
    public static String lastLines(java.io.InputStream in, int n, java.util.function.Consumer<String> warnings) {
        java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();
        Warnings w = new Warnings(warnings);
        try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
                w.line(l);
                if (!l.isBlank()) {
                    lines.addLast(l);
                    if (lines.size() > n) {
                        lines.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            // the program ended or was stopped: what it said so far
        }
        return lines.isEmpty() ? "(no message)" : String.join(" | ", lines);
    }

    /**
     * Picks the warnings out of what pg_dump or pg_restore writes on stderr, line by line: a line
     * "pg_dump: warning: ..." and the "detail:" and "hint:" lines that follow it (not those of an
     * error), each passed on whole, so that the program's name says where it came from.
     */
    public static final class Warnings {
        private static final Pattern LINE = Pattern.compile("^(pg_dump|pg_restore|pg_dumpall): (warning|detail|hint): .*");
        private final java.util.function.Consumer<String> to;
        private boolean inWarning;

        public Warnings(java.util.function.Consumer<String> to) {
            this.to = to;
        }

        public void line(String l) {
            Matcher m = LINE.matcher(l);
            if (m.matches() && (m.group(2).equals("warning") || inWarning)) {
                inWarning = true;
                to.accept(l.strip());
            } else if (!l.startsWith(" ") && !l.startsWith("\t")) { // a continuation line keeps the state; anything else ends a warning
                inWarning = false;
            }
        }
    }

    /** The major version in a version string such as "15.18 (Debian 15.18-0+deb12u1)". */
    public static int majorOf(String version) {
        Matcher m = Pattern.compile("^(\\d+)").matcher(version.trim());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /**
     * The environment for a client program that connects to {@code s}: libpq's variables, so that
     * no password appears on a command line.
     */
    /**
     * Adds {@code -c NAME=VALUE} for each setting to PGOPTIONS in {@code env}, after the user's own
     * options, so that they win: pg_dump and pg_restore then run with the settings pgstrata's own
     * sessions use, whatever the server's postgresql.conf gives every session.
     * <ul>
     *   <li>{@link #MONEY_IN_C}: money is written and read the same way on every server, whatever
     *       lc_monetary its configuration (made under its owner's locale) has;</li>
     *   <li>{@link #WRITABLE}: pg_restore writes into a server set read-only by default, as
     *       pgstrata's own sessions do ({@link Db});</li>
     *   <li>{@link #ARRAY_NULLS}: COPY writes a NULL element of an array as NULL, which a session
     *       under array_nulls = off reads as the string "NULL" in a text array, silently, and
     *       refuses in an integer one; pg_restore sets no array_nulls of its own.</li>
     * </ul>
     */
    public static void withSettings(Map<String, String> env, String... settings) {
        StringBuilder options = new StringBuilder(env.getOrDefault("PGOPTIONS", "").strip());
        for (String setting : settings) {
            options.append(options.length() == 0 ? "" : " ").append("-c ").append(setting);
        }
        env.put("PGOPTIONS", options.toString());
    }

    public static final String MONEY_IN_C = "lc_monetary=" + org.pgstrata.manifest.LogicalManifest.MONEY_LOCALE;
    public static final String WRITABLE = "default_transaction_read_only=off";
    public static final String ARRAY_NULLS = "array_nulls=on";

    /**
     * Points the environment of a client program ({@code ProcessBuilder.environment()}) at {@code s}:
     * {@link #libpqEnv}'s variables, without the two that pgstrata's own sessions do not read and
     * that would send libpq elsewhere: PGSERVICE (libpq reads a service before the environment, so
     * its host and port beat the PGHOST and PGPORT given here) and PGHOSTADDR (the address libpq
     * connects to, whatever PGHOST says), nor PGTARGETSESSIONATTRS and PGLOADBALANCEHOSTS. With
     * any of them inherited, pg_restore could write into another
     * server than the one pgstrata's own sessions checked and reported. Libpq.resolve refuses
     * PGSERVICE while it would decide anything; past that it must decide nothing here either.
     */
    public static void connectTo(Map<String, String> env, org.pgstrata.api.ConnectionSettings s) {
        env.remove("PGSERVICE");
        env.remove("PGHOSTADDR");
        // Nor the two that choose among the hosts of a list (pgjdbc reads neither): s names the one host pgstrata's own
        // session reached (Db.reached); on it alone, a target_session_attrs the server does not meet would only fail the program.
        env.remove("PGTARGETSESSIONATTRS");
        env.remove("PGLOADBALANCEHOSTS");
        env.putAll(libpqEnv(s, Map.of()));
    }

    public static Map<String, String> libpqEnv(org.pgstrata.api.ConnectionSettings s, Map<String, String> base) {
        Map<String, String> env = new java.util.HashMap<>(base);
        env.put("PGHOST", s.host());
        env.put("PGPORT", Integer.toString(s.port()));
        env.put("PGUSER", s.user());
        env.put("PGDATABASE", s.dbname());
        // The password pgstrata's own connections use (PGPASSWORD, else the password file by PgPass's rules).
        String password = s.password() != null ? s.password() : PgPass.password(s);
        if (password != null) {
            env.put("PGPASSWORD", password);
        } else {
            env.remove("PGPASSWORD");
        }
        if (s.passfile() != null) {
            env.put("PGPASSFILE", s.passfile().toString());
        }
        env.putAll(s.sslEnvironment());
        env.put("PGCONNECT_TIMEOUT", "10");
        // pgstrata reads what pg_dump and pg_restore say (the error line, a missing role, a full disk): in English
        env.put("LANGUAGE", "en");
        return env;
    }
}
