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
    /**
     * pgjdbc reports some failures through java.util.logging too, which prints them on stderr with
     * a time stamp (PGSSLMODE=verify-full with a certificate for another name: "SEVERE: Server name
     * validation failed ..."), before pgstrata's own one-line error says the same. Its exception
     * carries what the user needs; PGSTRATA_DEBUG=1 keeps the driver's log. Held here: the logging
     * framework keeps loggers only weakly, and a logger collected would lose its level.
     */
    private static final java.util.logging.Logger DRIVER_LOG = java.util.logging.Logger.getLogger("org.postgresql");

    static {
        if (System.getenv("PGSTRATA_DEBUG") == null) {
            DRIVER_LOG.setLevel(java.util.logging.Level.OFF);
        }
    }

    /**
     * Of each open session to a host list, the host of the list that answered: {@link #open}
     * tries the hosts one by one, so it knows; {@link #reached} reads it back. Weak keys: a
     * session closed and dropped leaves no entry.
     */
    private static final java.util.Map<Connection, String> LIST_HOST = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private Db() {
    }

    /**
     * A session with the search_path that the server gives the role and database, for SQL that
     * names the user's own objects unqualified (the demo's books table). pgstrata's commands use
     * {@link #connect(ConnectionSettings, String)}.
     */
    public static Connection connect(ConnectionSettings s) {
        return open(s, "pgstrata", false, false);
    }

    /**
     * A session for pgstrata's own SQL, with search_path pg_catalog then pg_temp: the owner of a
     * database may set its search_path (ALTER DATABASE ... SET search_path) to a schema of its own
     * ahead of pg_catalog, or create functions and operators in a schema on it that match the
     * argument types better than the server's. Unqualified calls such as current_database() or
     * pg_backend_pid() would then run that owner's code as the role pgstrata connects as, often a
     * superuser (pg_dump guards against the same by setting an empty search_path).
     */
    public static Connection connect(ConnectionSettings s, String applicationName) {
        return open(s, applicationName, true, false);
    }

    /**
     * The client encoding under which a SQL_ASCII database's text is copied as the bytes it is.
     * The server checks what it sends a client against the client's encoding when the database
     * is SQL_ASCII, and what it receives likewise: under pgjdbc's UTF8 a Latin-1 byte is an error
     * either way (pg_dump and pg_restore use the database's own encoding, and pass it through).
     * pgjdbc decodes SQL_ASCII as ASCII, so a session keeps UTF8 for everything but COPY, whose
     * rows it does not decode, and whose statement it always sends in UTF-8.
     */
    public static final String SQL_ASCII = "SQL_ASCII";

    /**
     * SQL for the bytes of text expression {@code text} as the server keeps them, as bytea. Not textsend(), which converts to
     * the client's encoding (and so refuses a Latin-1 byte of a SQL_ASCII database, as text output does); and not a plain
     * cast, which parses the text as bytea input, where a backslash is an escape: doubled first, each stands for itself.
     */
    public static String bytesOf(String text) {
        return "replace(" + text + ", E'\\\\', E'\\\\\\\\')::bytea"; // E'': whatever standard_conforming_strings says
    }

    /**
     * {@code bytes} (a name read as bytea, as the server keeps it) as UTF-8, or null when they are not UTF-8: a SQL_ASCII
     * database keeps whatever its clients sent (Latin-1 among them), which the server refuses to send a UTF8 client as text,
     * and which pgjdbc could not send back to name the object.
     */
    public static String utf8(byte[] bytes) {
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }

    /** {@code bytes} for a message: as UTF-8 where they are, every other byte as \xHH. */
    public static String shown(byte[] bytes) {
        String s = utf8(bytes);
        if (s != null) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) {
            if (x >= 0x20 && x < 0x7f) {
                b.append((char) x);
            } else {
                b.append(String.format("\\x%02X", x & 0xff));
            }
        }
        return b.toString();
    }

    /**
     * {@link #connect(ConnectionSettings, String)}, in a session whose client_encoding may be set
     * to {@link #SQL_ASCII} for a COPY (pgjdbc refuses a change of it otherwise).
     */
    public static Connection connectForCopy(ConnectionSettings s, String applicationName) {
        return open(s, applicationName, true, true);
    }

    private static Connection open(ConnectionSettings s, String applicationName, boolean catalogSearchPath, boolean encodingChanges) {
        if (!s.isSocket() && s.host().contains(",")) {
            // A list of hosts, tried in turn as libpq tries them: each with its own line of the password file (pgjdbc, given
            // the list, would send one password to all, and report the last host's refusal for the first one's missing password).
            // The next host only when this one could not be reached: a server that answered with an error (authentication,
            // no such database) ends the attempt, as in libpq.
            PgstrataException last = null;
            for (String h : s.host().split(",", -1)) {
                String host = h.strip().isEmpty() ? "localhost" : h.strip();
                try {
                    Connection c = open(s.withHost(host), applicationName, catalogSearchPath, encodingChanges);
                    LIST_HOST.put(c, host);
                    return c;
                } catch (PgstrataException e) {
                    if (!(e.getCause() instanceof SQLException q) || q.getSQLState() == null || !q.getSQLState().startsWith("08")
                            || e.code() != ErrorCode.CONNECTION) {
                        throw e;
                    }
                    last = e;
                }
            }
            throw last;
        }
        Properties p = properties(s);
        if (encodingChanges) {
            // pgjdbc otherwise refuses a session whose client_encoding changes from its UTF8
            p.setProperty("allowEncodingChanges", "true");
        }
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("connectTimeout", "10");
        p.setProperty("tcpKeepAlive", "true");
        Connection c;
        try {
            c = DriverManager.getConnection(url(s), p);
        } catch (SQLException e) {
            throw connectionFailed(s, e);
        }
        try {
            withoutTimeouts(c);
            if (catalogSearchPath) {
                execute(c, "SET search_path = pg_catalog, pg_temp");
            }
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the error to report is the first one
            }
            throw sqlFailed("setting up the session at " + s.describe(), e);
        }
        return c;
    }

    /**
     * The driver properties every connection to {@code s} needs: the user, the password (given, or
     * from the password file), and for a socket directory the Unix-domain socket factory.
     */
    public static Properties properties(ConnectionSettings s) {
        Properties p = new Properties();
        p.setProperty("user", s.user());
        String password = s.password() != null ? s.password() : PgPass.password(s);
        if (password != null) {
            p.setProperty("password", password);
        } else {
            // Without a password pgjdbc would read ~/.pgpass by itself, past the checks of PgPass.
            p.setProperty("authenticationPluginClassName", NoPassword.class.getName());
        }
        if (s.isSocket()) {
            p.setProperty("socketFactory", "org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg");
            p.setProperty("socketFactoryArg", s.socketPath().toString());
            p.setProperty("sslmode", "disable"); // PostgreSQL offers no SSL on a Unix socket (libpq ignores sslmode there too)
        } else {
            // PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY: pgjdbc reads no environment, and takes libpq's names and values.
            s.ssl().forEach(p::setProperty);
            if ("require".equals(s.ssl().get("sslmode")) && rootCertificateExists(s.ssl().get("sslrootcert"))) {
                // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as that of verify-ca".
                // pgjdbc's require never verifies: a server that psql and pg_dump refuse would be accepted.
                p.setProperty("sslmode", "verify-ca");
            }
        }
        return p;
    }

    /** Whether the root certificate file libpq would read exists: PGSSLROOTCERT's, else ~/.postgresql/root.crt. */
    private static boolean rootCertificateExists(String sslrootcert) {
        try {
            java.nio.file.Path root = sslrootcert != null ? java.nio.file.Path.of(sslrootcert)
                    : java.nio.file.Path.of(System.getProperty("user.home"), ".postgresql", "root.crt");
            return java.nio.file.Files.isRegularFile(root);
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /** What pgjdbc asks when a server wants a password and none was found: there is none. */
    public static final class NoPassword implements org.postgresql.plugin.AuthenticationPlugin {
        @Override
        public char[] getPassword(org.postgresql.plugin.AuthenticationRequestType type) {
            return null;
        }
    }

    /**
     * The JDBC URL of a server and database. pgjdbc URL-decodes the database name, so it is
     * encoded here: any name reaches the server as it is ('+', '%', '?', '/', spaces, Unicode).
     * Over a Unix socket the host of the URL is only a name ({@link #properties} gives the socket).
     */
    public static String url(ConnectionSettings s) {
        String db = java.net.URLEncoder.encode(s.dbname(), java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
        return "jdbc:postgresql://" + (s.isSocket() ? "localhost:" + s.port() : hostsForUrl(s.host(), s.port())) + "/" + db;
    }

    /**
     * libpq's host list ("db1,db2", as PGHOST or -h give it): each host with the port. pgjdbc
     * gives a host of its URL written without a port its own default, 5432, so that
     * "db1,db2:5433" tried db1 on 5432, a port the user never named (possibly another cluster's).
     * An empty element is localhost.
     */
    private static String hostsForUrl(String hosts, int port) {
        StringBuilder b = new StringBuilder();
        for (String h : hosts.split(",", -1)) {
            String host = h.strip();
            b.append(b.length() == 0 ? "" : ",").append(host.isEmpty() ? "localhost" : hostForUrl(host)).append(':').append(port);
        }
        return b.toString();
    }

    /**
     * {@code s} with the one host of its list ("db1,db2") that session {@code c} reached: for
     * the sessions and client programs (pg_dump, pg_restore, psql) that must work on the server
     * pgstrata checked. Given the list, libpq in a client program would choose for itself, by its
     * own variables that pgjdbc does not read (PGTARGETSESSIONATTRS, PGLOADBALANCEHOSTS), or when a
     * host came up or went down in between: another server than the one checked and reported.
     */
    public static ConnectionSettings reached(ConnectionSettings s, Connection c) {
        if (s.isSocket() || !s.host().contains(",")) {
            return s;
        }
        String host = LIST_HOST.get(c);
        if (host == null) {
            throw new IllegalStateException("a session to " + s.describe() + " that Db.open did not make");
        }
        return s.withHost(host);
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    public static PgstrataException connectionFailed(ConnectionSettings s, SQLException e) {
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().split("\n")[0];
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (isAuthenticationFailure(e)) {
            return new PgstrataException(ErrorCode.AUTHENTICATION, "authentication as " + s.user() + " failed at " + s.describe() + ": " + reason,
                    "set PGPASSWORD, or add a line for this server to ~/.pgpass (or the file PGPASSFILE names, mode 0600);"
                            + " check --user (PGUSER) and the server's pg_hba.conf", e);
        }
        String hint;
        String pem = s.isSocket() ? null : pemKey(s);
        if (pem != null && reason.contains(pem)) { // the driver names the key it could not read
            hint = "PGSSLKEY " + pem + " is a PEM file, which libpq reads but the Java driver cannot: convert it to PKCS-8 DER with"
                    + " 'openssl pkcs8 -topk8 -outform DER -nocrypt -in KEY -out KEY.pk8' (mode 0600) and point PGSSLKEY at that";
        } else if (state.startsWith("08")) {
            hint = s.isSocket()
                    ? "check that the server is running and has its socket in " + s.host() + " (--host, --port, PGHOST, PGPORT)"
                    : "check that the server is running and accepts TCP connections there (--host, --port, PGHOST, PGPORT;"
                            + " a --host that starts with / is a socket directory)";
        } else if (state.equals("3D000")) {
            hint = "check --dbname or PGDATABASE";
        } else {
            hint = "check the connection options (--host, --port, --user, --dbname)";
        }
        return new PgstrataException(ErrorCode.CONNECTION, "cannot connect to " + s.describe() + ": " + reason, hint, e);
    }

    /** The client key file the connection names when it is PEM (pgjdbc reads PKCS-8 DER or PKCS-12 only), else null. */
    private static String pemKey(ConnectionSettings s) {
        String key = s.ssl().get("sslkey");
        if (key == null) {
            return null;
        }
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(key))) {
            return new String(in.readNBytes(11), java.nio.charset.StandardCharsets.US_ASCII).equals("-----BEGIN ") ? key : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The server refused the user or the password (28P01, 28000: also no pg_hba.conf entry, or no
     * such role), or asked for a password that there is none of (pgjdbc's 08004 "no password was
     * provided").
     */
    public static boolean isAuthenticationFailure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return state.equals("28P01") || state.equals("28000")
                || state.equals("08004") && e.getMessage() != null && e.getMessage().contains("no password was provided");
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

    /**
     * Lifts the server's limits on how long this session may run a statement, a transaction, or
     * sit idle (statement_timeout, transaction_timeout on 17 and later, idle_in_transaction_session_timeout,
     * idle_session_timeout), which production servers often set for every role: a backup's session
     * waits on a checkpoint, holds a snapshot, or sits idle while the files are copied, for as long
     * as the data takes (pg_dump lifts them too). lock_timeout likewise: a server that sets it for
     * every role (so that no application waits long behind a migration) would otherwise fail a
     * backup at the first table locked for a moment by an ALTER TABLE or a CREATE INDEX, where
     * pg_dump, which sets it to 0 for itself, waits. Each is set only where the server has it (by its
     * major version), in one round trip; every connection does it. So is
     * default_transaction_read_only, which a server set read-only by default (a guard during
     * maintenance, a reporting copy) gives every session: a restore the user asked for writes, as
     * pg_dumpall's scripts do; a standby's transactions stay read-only whatever it says.
     */
    private static void withoutTimeouts(Connection c) throws SQLException {
        // SET, not set_config over pg_settings (2-3 ms of building every setting's row): which exist follows from the major
        // version the server announced at the start, so this is one round trip of about 0.1 ms.
        int major = c.getMetaData().getDatabaseMajorVersion();
        execute(c, "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
                + " SET default_transaction_read_only = off"
                + (major >= 14 ? "; SET idle_session_timeout = 0" : "") + (major >= 17 ? "; SET transaction_timeout = 0" : ""));
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
        if (isServerGoingAway(e)) {
            return new PgstrataException(ErrorCode.CONNECTION, what + " failed: the server ended the session (a shutdown, a restart, or"
                    + " pg_terminate_backend) (" + msg + ")", "once the server accepts connections again, run the command again", e);
        }
        if ("53400".equals(e.getSQLState()) && msg.contains("temp_file_limit")) {
            // configuration_limit_exceeded: a sort (a logical backup's key order) spilled past the server's temp_file_limit
            return new PgstrataException(ErrorCode.SERVER, what + " failed: " + msg, "let the role go past the server's temp_file_limit:"
                    + " as a superuser, GRANT SET ON PARAMETER temp_file_limit TO the role (PostgreSQL 15 and later; pgstrata then lifts"
                    + " it for its own sessions) or ALTER ROLE ... SET temp_file_limit = -1, or connect as a superuser", e);
        }
        if ("42501".equals(e.getSQLState())) {
            // insufficient_privilege: the server's words name the privilege; the log has nothing more
            return new PgstrataException(ErrorCode.SERVER, what + " failed: " + msg, msg.contains("to create database")
                    ? "give the role CREATEDB (ALTER ROLE ... CREATEDB), or connect as a role that has it"
                    : msg.contains("must be owner of")
                    ? "connect as the owner the server names (a member of the owning role, or a superuser), or change the owner first"
                    : "grant the role that privilege (GRANT, or a predefined role such as pg_read_all_data or pg_read_all_settings),"
                    + " or connect as a role that holds it (a superuser holds all)", e);
        }
        return new PgstrataException(ErrorCode.SERVER, what + " failed: " + msg, "see the server log for details", e);
    }

    /**
     * The server ended the session because it shuts down or restarts (57P01 admin_shutdown: a fast
     * or smart shutdown, pg_terminate_backend, or a postmaster that died; 57P02 crash_shutdown: an
     * immediate shutdown or a crash of another backend; 57P03 cannot_connect_now: starting up or
     * shutting down). The session is lost as when the connection breaks (08xxx).
     */
    public static boolean isServerGoingAway(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return state.equals("57P01") || state.equals("57P02") || state.equals("57P03");
    }
}
