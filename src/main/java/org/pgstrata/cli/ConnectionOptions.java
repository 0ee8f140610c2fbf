package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.db.Libpq;
import picocli.CommandLine.Option;

/** --host/--port/--user/--dbname, with libpq's PG* variables as fallbacks. No password option, by design. */
final class ConnectionOptions {
    @Option(names = {"-h", "--host"}, paramLabel = "HOST", description = "Server host, or the directory of its Unix-domain socket "
            + "(starts with /). Default: PGHOST, else the running server's socket (or address) from postmaster.pid of the data directory, "
            + "else a socket in /var/run/postgresql or /tmp, else localhost.")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Server port (default: PGPORT, else the running server's from "
            + "postmaster.pid of the data directory, else the one configured there, else 5432).")
    Integer port;

    @Option(names = {"-U", "--user"}, paramLabel = "USER", description = "User name (default: PGUSER, else postgres). "
            + "The password comes from PGPASSWORD or the password file (PGPASSFILE, else ~/.pgpass), never from the command line.")
    String user;

    @Option(names = {"-d", "--dbname"}, paramLabel = "DB", description = "Database (default: PGDATABASE, else postgres).")
    String dbname;

    /**
     * The settings for a command that takes no --pgdata: the data directory is PGDATA's, when set,
     * as for the commands that take one (its postmaster.pid gives the socket and port, as --help
     * says), else not known.
     */
    ConnectionSettings resolve(Map<String, String> env) {
        return resolve(env, DataDirectory.orEnv(null, env));
    }

    /** The settings for the server of {@code pgdata} (null: not known): its socket and port come from its postmaster.pid. */
    ConnectionSettings resolve(Map<String, String> env, Path pgdata) {
        return Libpq.resolve(host, port, user, dbname != null ? dbname : env.getOrDefault("PGDATABASE", "postgres"), pgdata, env);
    }
}
