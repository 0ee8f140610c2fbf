package org.pgstrata.api;

import java.util.Map;
import java.util.Objects;

/**
 * Where a server is and who to connect as. Built once from the command line with libpq's
 * environment variables as fallbacks; the password only ever comes from PGPASSWORD (or
 * ~/.pgpass, read by {@code db}), never from a command-line argument, so that it never shows
 * in a process list.
 */
public record ConnectionSettings(String host, int port, String user, String dbname, String password) {

    public ConnectionSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(dbname, "dbname");
        if (port <= 0 || port > 65535) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid port " + port, "use a port between 1 and 65535");
        }
    }

    /**
     * Command-line values win; then PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD from
     * {@code env}; then libpq's defaults (127.0.0.1, 5432, postgres, the user name).
     */
    public static ConnectionSettings resolve(String host, Integer port, String user, String dbname,
                                             Map<String, String> env) {
        String h = firstNonBlank(host, env.get("PGHOST"), "127.0.0.1");
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
        return new ConnectionSettings(h, p, u, d, env.get("PGPASSWORD"));
    }

    public ConnectionSettings withDbname(String newDbname) {
        return new ConnectionSettings(host, port, user, newDbname, password);
    }

    public ConnectionSettings withPort(int newPort) {
        return new ConnectionSettings(host, newPort, user, dbname, password);
    }

    /** host:port/dbname as user, for messages. Never includes the password. */
    public String describe() {
        return user + "@" + host + ":" + port + "/" + dbname;
    }

    @Override
    public String toString() {
        return describe();
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
