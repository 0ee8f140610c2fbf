package org.pgstrata.api;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where a server is and who to connect as. Built once from the command line with libpq's
 * environment variables as fallbacks; the password only ever comes from PGPASSWORD or from the
 * password file ({@code passfile}: PGPASSFILE, else ~/.pgpass, read by {@code db}), never from a
 * command-line argument, so that it never shows in a process list.
 *
 * <p>A {@code host} that starts with '/' is a directory holding the server's Unix-domain socket
 * {@code host/.s.PGSQL.port}, as in libpq.
 *
 * @param passfile the password file to look in when {@code password} is null; null for none
 * @param ssl      libpq's SSL settings for a TCP connection, by their connection-parameter names (sslmode, sslrootcert,
 *                 sslcert, sslkey), from PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY; empty for the driver's defaults
 *                 (sslmode prefer, as libpq's)
 */
public record ConnectionSettings(String host, int port, String user, String dbname, String password, Path passfile,
                                 Map<String, String> ssl) {

    /** The sslmode values libpq takes. */
    public static final java.util.List<String> SSL_MODES = java.util.List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    /** libpq's environment variable for each SSL connection parameter. */
    private static final Map<String, String> SSL_ENV = Map.of("sslmode", "PGSSLMODE", "sslrootcert", "PGSSLROOTCERT", "sslcert",
            "PGSSLCERT", "sslkey", "PGSSLKEY");

    public ConnectionSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(dbname, "dbname");
        if (port <= 0 || port > 65535) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid port " + port, "use a port between 1 and 65535");
        }
        ssl = ssl == null ? Map.of() : Map.copyOf(ssl);
        String mode = ssl.get("sslmode");
        if (mode != null && !SSL_MODES.contains(mode)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid sslmode '" + mode + "' (PGSSLMODE)", "use one of " + String.join(", ", SSL_MODES));
        }
    }

    public ConnectionSettings(String host, int port, String user, String dbname, String password, Path passfile) {
        this(host, port, user, dbname, password, passfile, Map.of());
    }

    /** Settings without a password file. */
    public ConnectionSettings(String host, int port, String user, String dbname, String password) {
        this(host, port, user, dbname, password, null);
    }

    /**
     * Command-line values win; then PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE from
     * {@code env}; then localhost, 5432, postgres, the user name, ~/.pgpass. (Defaults that depend
     * on a running server, such as its socket directory and port, are {@code db.Libpq}'s.)
     */
    public static ConnectionSettings resolve(String host, Integer port, String user, String dbname,
                                             Map<String, String> env) {
        String h = firstNonBlank(host, env.get("PGHOST"), "localhost");
        String portText = port != null ? port.toString() : firstNonBlank(env.get("PGPORT"), "5432");
        int p;
        try {
            p = Integer.parseInt(portText.trim());
        } catch (NumberFormatException e) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid port '" + portText + "'",
                    "set --port or PGPORT to a number");
        }
        String u = firstNonBlank(user, env.get("PGUSER"), "postgres");
        String d = firstNonBlank(dbname, env.get("PGDATABASE"), u);
        Map<String, String> ssl = new java.util.HashMap<>();
        SSL_ENV.forEach((parameter, variable) -> {
            String v = blankToNull(env.get(variable));
            if (v != null) {
                ssl.put(parameter, v);
            }
        });
        return new ConnectionSettings(h, p, u, d, blankToNull(env.get("PGPASSWORD")), passfile(env), ssl);
    }

    /** The SSL settings as libpq's environment variables, for a client program (pg_dump) that connects with them. */
    public Map<String, String> sslEnvironment() {
        Map<String, String> out = new java.util.HashMap<>();
        ssl.forEach((parameter, value) -> out.put(SSL_ENV.get(parameter), value));
        return out;
    }

    /** PGPASSFILE, else ~/.pgpass (HOME from {@code env}, else the JVM's user.home). */
    public static Path passfile(Map<String, String> env) {
        String f = env.get("PGPASSFILE");
        if (f != null && !f.isBlank()) {
            return Path.of(f);
        }
        String home = firstNonBlank(env.get("HOME"), System.getProperty("user.home"));
        return home == null ? null : Path.of(home, ".pgpass");
    }

    public ConnectionSettings withDbname(String newDbname) {
        return new ConnectionSettings(host, port, user, newDbname, password, passfile, ssl);
    }

    public ConnectionSettings withPort(int newPort) {
        return new ConnectionSettings(host, newPort, user, dbname, password, passfile, ssl);
    }

    public ConnectionSettings withHost(String newHost) {
        return new ConnectionSettings(newHost, port, user, dbname, password, passfile, ssl);
    }

    /** True when {@code host} names a socket directory rather than a host. */
    public boolean isSocket() {
        return host.startsWith("/");
    }

    /** The Unix-domain socket a socket directory stands for: DIR/.s.PGSQL.PORT. */
    public Path socketPath() {
        if (!isSocket()) {
            throw new IllegalStateException(host + " is not a socket directory");
        }
        return Path.of(host, ".s.PGSQL." + port);
    }

    /** host:port, or the socket's path, for messages. */
    public String server() {
        return isSocket() ? socketPath().toString() : host + ":" + port;
    }

    /** user@host:port/dbname (user@socket/dbname over a Unix socket), for messages. Never includes the password. */
    public String describe() {
        return user + "@" + server() + "/" + dbname;
    }

    @Override
    public String toString() {
        return describe();
    }

    private static String blankToNull(String v) {
        return v == null || v.isEmpty() ? null : v;
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }
}
