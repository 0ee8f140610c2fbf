package org.pgstrata.db;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * Where to connect when the command line leaves it open, by libpq's conventions: the command
 * line, then PGHOST/PGPORT/..., then what the running server of a known data directory says in its
 * postmaster.pid (its socket directory and port), then the configured port, then a socket in the
 * usual directories, then localhost:5432.
 */
public final class Libpq {
    /** Where Debian's and most packaged servers (first) and PostgreSQL's own default (second) put their socket. */
    static final List<String> DEFAULT_SOCKET_DIRS = List.of("/var/run/postgresql", "/tmp");

    private Libpq() {
    }

    /**
     * Settings for a server. Port: {@code port} > PGPORT > the running server's postmaster.pid
     * in {@code pgdata} > the port configured in {@code pgdata} > 5432. Host: {@code host} >
     * PGHOST > postmaster.pid's socket directory (else its listen address) > /var/run/postgresql
     * or /tmp when the socket for the port is there > localhost. {@code pgdata} may be null.
     */
    public static ConnectionSettings resolve(String host, Integer port, String user, String dbname, Path pgdata, Map<String, String> env) {
        java.util.List<String> fromService = new java.util.ArrayList<>();
        if (notBlank(env.get("PGSERVICE"))) {
            // libpq's tools (psql, pg_dump) take what the options and PG* variables leave open from the service file; the
            // defaults instead could reach another cluster on the same host, or another database, without a word.
            if (!notBlank(host) && !notBlank(env.get("PGHOST"))) {
                fromService.add("host");
            }
            if (port == null && !notBlank(env.get("PGPORT"))) {
                fromService.add("port");
            }
            if (!notBlank(user) && !notBlank(env.get("PGUSER"))) {
                fromService.add("user");
            }
            if (!notBlank(dbname) && !notBlank(env.get("PGDATABASE"))) {
                fromService.add("dbname");
            }
        }
        if (!fromService.isEmpty()) {
            throw new PgstrataException(ErrorCode.USAGE, "PGSERVICE is set ('" + env.get("PGSERVICE") + "'), and pgstrata does not read "
                    + "connection service files (pg_service.conf): its " + String.join(", ", fromService) + " would decide where psql connects",
                    "give --host, --port, --user and --dbname (or PGHOST, PGPORT, PGUSER, PGDATABASE, or a stanza) with the service's "
                            + "values, or unset PGSERVICE");
        }
        String hostaddr = env.get("PGHOSTADDR");
        String named = notBlank(host) ? host : env.get("PGHOST");
        if (notBlank(hostaddr) && !(named != null && hostaddr.strip().equals(named.strip()))) {
            // libpq connects to PGHOSTADDR whatever the host says (the host then only names the server for SSL and .pgpass):
            // psql and pg_dump would reach that address while pgstrata, which connects by host alone, reached another.
            throw new PgstrataException(ErrorCode.USAGE, "PGHOSTADDR is set ('" + hostaddr + "'), and pgstrata connects by host alone: "
                    + "psql would connect to " + hostaddr + " whatever the host " + (named == null ? "(the default)" : "'" + named + "'") + " says",
                    "give the address as --host (or PGHOST), or unset PGHOSTADDR");
        }
        boolean hostGiven = notBlank(host) || notBlank(env.get("PGHOST"));
        boolean portGiven = port != null || notBlank(env.get("PGPORT"));
        Optional<PostmasterPid> pid = pgdata == null ? Optional.empty() : PostmasterPid.ofRunning(pgdata.toAbsolutePath().normalize());
        Integer p = port;
        if (!portGiven) {
            p = pid.map(PostmasterPid::port).orElseGet(() -> pgdata != null && Files.isRegularFile(pgdata.resolve("postgresql.conf"))
                    ? new LocalCluster(pgdata, null).configuredPort() : 5432);
        }
        ConnectionSettings s = ConnectionSettings.resolve(host, p, user, dbname, env);
        if (hostGiven) {
            return s;
        }
        String h = pid.map(x -> x.localHost(s.port())).orElse(null);
        if (h == null) {
            h = defaultSocketDir(s.port());
        }
        return h == null ? s : s.withHost(h);
    }

    /** The first usual socket directory that holds a socket for {@code port}, or null. */
    static String defaultSocketDir(int port) {
        for (String d : DEFAULT_SOCKET_DIRS) {
            if (Files.exists(Path.of(d, ".s.PGSQL." + port))) {
                return d;
            }
        }
        return null;
    }

    /**
     * Settings to reach the server that runs on {@code pgdata} on this machine, as {@code who}'s
     * user, password and password file: its socket or listen address and port from postmaster.pid.
     */
    public static ConnectionSettings forLocalServer(Path pgdata, ConnectionSettings who) {
        PostmasterPid pid = PostmasterPid.ofRunning(pgdata).orElseThrow(() -> new PgstrataException(ErrorCode.SERVER,
                "the server in " + pgdata + " is not running (no live postmaster.pid)", "read its log in " + pgdata.resolve(LocalCluster.LOG_FILE)));
        String host = pid.localHost(pid.port());
        // who's SSL settings too (PGSSLCERT and PGSSLKEY for a server that asks for a client certificate, PGSSLROOTCERT,
        // PGSSLMODE), but the address is the one postmaster.pid names, not a host name the user gave: verify-full would
        // compare the certificate's name with that address, so the certificate is verified as with verify-ca.
        Map<String, String> ssl = new java.util.HashMap<>(who.ssl());
        if ("verify-full".equals(ssl.get("sslmode"))) {
            ssl.put("sslmode", "verify-ca");
        }
        return new ConnectionSettings(host == null ? "localhost" : host, pid.port(), who.user(), who.dbname(), who.password(), who.passfile(), ssl);
    }

    private static boolean notBlank(String v) {
        return v != null && !v.isBlank();
    }
}
