package org.pgstrata.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/** JDBC connections with errors a user can act on. */
public final class Db {
    private Db() {
    }

    public static Connection connect(ConnectionSettings s) {
        return connect(s, "pgstrata");
    }

    public static Connection connect(ConnectionSettings s, String applicationName) {
        Properties p = new Properties();
        p.setProperty("user", s.user());
        if (s.password() != null) {
            p.setProperty("password", s.password());
        }
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("connectTimeout", "10");
        p.setProperty("tcpKeepAlive", "true");
        try {
            return DriverManager.getConnection(url(s), p);
        } catch (SQLException e) {
            throw connectionFailed(s, e);
        }
    }

    /**
     * The JDBC URL of a server and database. pgjdbc URL-decodes the database name, so it is
     * encoded here: any name reaches the server as it is ('+', '%', '?', '/', spaces, Unicode).
     */
    public static String url(ConnectionSettings s) {
        String db = java.net.URLEncoder.encode(s.dbname(), java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
        return "jdbc:postgresql://" + hostForUrl(s.host()) + ":" + s.port() + "/" + db;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    public static PgstrataException connectionFailed(ConnectionSettings s, SQLException e) {
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().split("\n")[0];
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String hint;
        if (state.startsWith("08")) {
            hint = "check that the server is running and accepts TCP connections there (--host, --port, PGHOST, PGPORT)";
        } else if (state.equals("28P01") || state.equals("28000")) {
            hint = "check --user, PGPASSWORD or ~/.pgpass";
        } else if (state.equals("3D000")) {
            hint = "check --dbname or PGDATABASE";
        } else {
            hint = "check the connection options (--host, --port, --user, --dbname)";
        }
        return new PgstrataException(ErrorCode.CONNECTION, "cannot connect to " + s.describe() + ": " + reason, hint, e);
    }

    public static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    public static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    public static int serverVersionNum(Connection c) throws SQLException {
        return Integer.parseInt(queryString(c, "SHOW server_version_num"));
    }

    /** A failed statement turned into a user-facing error. */
    public static PgstrataException sqlFailed(String what, SQLException e) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
        if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
            return new PgstrataException(ErrorCode.CONNECTION, what + " failed: the connection was lost (" + msg + ")",
                    "check that the server is still running, then run the command again", e);
        }
        return new PgstrataException(ErrorCode.SERVER, what + " failed: " + msg, "see the server log for details", e);
    }
}
