package org.pgstrata.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.PgstrataException;

/**
 * The locales a cluster's databases were created with, and those the host that runs the server
 * lacks. PostgreSQL sets a database's LC_COLLATE and LC_CTYPE at each connection to it: a server
 * restored on a host without one of them starts, serves every other database, and refuses each
 * connection to that one ("database locale is incompatible with operating system").
 */
public final class DatabaseLocales {
    private static final String REFUSED = "database locale is incompatible with operating system";

    private DatabaseLocales() {
    }

    /** Whether {@code e} (or what caused it) is the server refusing a connection for its database's locale. */
    public static boolean refusedFor(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(REFUSED)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Every database that takes connections, by name, with its locale in words ("LC_COLLATE 'x', LC_CTYPE 'y'"); without
     * those whose name no connection can give ({@link #unnamable}).
     */
    public static Map<String, String> of(Connection c) throws SQLException {
        Map<String, String> locales = new LinkedHashMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT " + Db.bytesOf("datname::text") + ", datcollate, datctype FROM pg_database WHERE datallowconn AND datconnlimit <> -2"
                     + " ORDER BY datname")) {
            while (rs.next()) {
                String name = Db.utf8(rs.getBytes(1));
                if (name != null) {
                    locales.put(name, "LC_COLLATE '" + rs.getString(2) + "', LC_CTYPE '" + rs.getString(3) + "'");
                }
            }
        }
        return locales;
    }

    /**
     * The databases that take connections but whose name is not UTF-8, shown with their other bytes as \xHH: the shared
     * catalogue keeps a name as the session that created it sent it, in its database's encoding (a LATIN1 database's session
     * stores Latin-1), and pgjdbc sends a database name in UTF-8 alone, so no connection of pgstrata's reaches such a one.
     */
    public static java.util.List<String> unnamable(Connection c) throws SQLException {
        java.util.List<String> names = new java.util.ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT " + Db.bytesOf("datname::text") + " FROM pg_database WHERE datallowconn AND datconnlimit <> -2 ORDER BY datname")) {
            while (rs.next()) {
                byte[] name = rs.getBytes(1);
                if (Db.utf8(name) == null) {
                    names.add(Db.shown(name));
                }
            }
        }
        return names;
    }

    /**
     * The databases of the server {@code server} names (through its own database) that it refuses for
     * their locale, with the locale: one connection for each locale in use, not one per database.
     */
    public static Map<String, String> lacking(ConnectionSettings server, String applicationName) throws SQLException {
        Map<String, String> all;
        try (Connection c = Db.connect(server, applicationName)) {
            all = of(c);
        }
        Map<String, Boolean> refused = new LinkedHashMap<>();
        Map<String, String> lacking = new LinkedHashMap<>();
        for (Map.Entry<String, String> db : all.entrySet()) {
            Boolean no = refused.get(db.getValue());
            if (no == null) {
                no = false;
                try (Connection c = Db.connect(server.withDbname(db.getKey()), applicationName)) {
                    // it connects: this host has the locale
                } catch (PgstrataException e) {
                    if (!refusedFor(e)) {
                        throw e;
                    }
                    no = true;
                }
                refused.put(db.getValue(), no);
            }
            if (no) {
                lacking.put(db.getKey(), db.getValue());
            }
        }
        return lacking;
    }
}
