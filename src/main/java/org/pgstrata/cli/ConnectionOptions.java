package org.pgstrata.cli;

import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import picocli.CommandLine.Option;

/** --host/--port/--user/--dbname, with libpq's PG* variables as fallbacks. No password option, by design. */
final class ConnectionOptions {
    @Option(names = {"-h", "--host"}, paramLabel = "HOST", description = "Server host (default: PGHOST, else 127.0.0.1).")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Server port (default: PGPORT, else 5432).")
    Integer port;

    @Option(names = {"-U", "--user"}, paramLabel = "USER", description = "User name (default: PGUSER, else postgres). "
            + "The password comes from PGPASSWORD or ~/.pgpass, never from the command line.")
    String user;

    @Option(names = {"-d", "--dbname"}, paramLabel = "DB", description = "Database (default: PGDATABASE, else postgres).")
    String dbname;

    ConnectionSettings resolve(Map<String, String> env) {
        return ConnectionSettings.resolve(host, port, user, dbname != null ? dbname : env.getOrDefault("PGDATABASE", "postgres"), env);
    }

    ConnectionSettings resolve(Map<String, String> env, int defaultPort) {
        Integer p = port != null ? port : (env.get("PGPORT") != null ? null : defaultPort);
        return ConnectionSettings.resolve(host, p, user, dbname != null ? dbname : env.getOrDefault("PGDATABASE", "postgres"), env);
    }
}
