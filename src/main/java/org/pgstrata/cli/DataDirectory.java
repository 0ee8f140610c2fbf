package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.Map;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/** The data directory of -D/--pgdata, else PGDATA, as PostgreSQL's own programs take it. */
final class DataDirectory {
    private DataDirectory() {
    }

    /** {@code given}, else PGDATA, else null. */
    static Path orEnv(Path given, Map<String, String> env) {
        if (given != null) {
            return given;
        }
        String v = env.get("PGDATA");
        return v == null || v.isBlank() ? null : Path.of(v);
    }

    /** {@code given}, else PGDATA; neither is a usage error. */
    static Path required(Path given, Map<String, String> env) {
        Path p = orEnv(given, env);
        if (p == null) {
            throw new PgstrataException(ErrorCode.USAGE, "no data directory: give -D/--pgdata DIR or set PGDATA",
                    "name the cluster's data directory");
        }
        return p;
    }
}
