package org.pgstrata.it;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.db.PgClient;
import org.pgstrata.demo.ContentChecksum;

/** What the logical tests share: the machine's pg_dump, and a server of its major version. */
public final class LogicalSupport {
    private LogicalSupport() {
    }

    /** The pg_dump pgstrata finds here (CI installs Debian's client); the tests run a bundled server of its major. */
    public static PgClient pgDump() {
        return PgClient.find("pg_dump", 0, "any server", null, PgSupport.env());
    }

    /** The bundled major matching the machine's pg_dump: a test that cannot have one fails, it is not skipped. */
    public static int serverMajor() {
        int major = pgDump().major();
        if (!PgBinaries.BUNDLED_MAJORS.contains(major)) {
            throw new IllegalStateException("pg_dump " + pgDump().version() + " has no bundled server of the same major " + PgBinaries.BUNDLED_MAJORS);
        }
        return major;
    }

    /** A server of pg_dump's major, started, with a database "shop" holding table t (id, v) and one row. */
    public static LocalCluster shopWithOneRow(PgSupport pg) throws SQLException {
        LocalCluster source = pg.start("source", serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        sql(source, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'a')");
        return source;
    }

    public static ConnectionSettings conn(LocalCluster c, String db) {
        return PgSupport.conn(c).withDbname(db);
    }

    public static ContentChecksum.Result proof(LocalCluster c, String db) throws SQLException {
        try (Connection conn = Db.connect(conn(c, db))) {
            return ContentChecksum.compute(conn);
        }
    }

    /** Every sequence's state, which the row hash does not cover. */
    public static Map<String, String> sequences(LocalCluster c, String db) throws SQLException {
        Map<String, String> out = new java.util.TreeMap<>();
        try (Connection conn = Db.connect(conn(c, db)); var st = conn.createStatement();
             var rs = st.executeQuery("SELECT schemaname || '.' || sequencename, coalesce(last_value::text, 'unset') FROM pg_sequences")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    public static void sql(LocalCluster c, String db, String... statements) throws SQLException {
        try (Connection conn = Db.connect(conn(c, db))) {
            for (String s : statements) {
                Db.execute(conn, s);
            }
        }
    }

    public static boolean databaseExists(LocalCluster c, String db) throws SQLException {
        try (Connection conn = PgSupport.connect(c); var ps = conn.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            ps.setString(1, db);
            try (var rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Databases whose name shows a restore left them behind. */
    public static long leftoverRestoreDatabases(LocalCluster c) throws SQLException {
        return Long.parseLong(PgSupport.queryString(c, "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgstrata_restore%'"));
    }
}
