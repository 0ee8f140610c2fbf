package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.cli.CliRun;
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

    /**
     * The round trip of a server whose postgresql.conf sets {@code setting} to {@code value} for
     * every session (already in force): a logical full of database postgres, {@code changes} (in
     * one session), a differential; both restored into new databases and {@code table} from the
     * differential into an existing one, each proven by content against the source at its backup.
     */
    static void roundTripUnder(LocalCluster server, Path repo, String setting, String value, String table, String... changes) throws Exception {
        roundTripUnder(server, repo, setting, value, table, java.util.List.of(changes), java.util.List.of());
    }

    /** {@link #roundTripUnder(LocalCluster, Path, String, String, String, String...)}, running {@code beforeRestores} between the backups and the restores. */
    static void roundTripUnder(LocalCluster server, Path repo, String setting, String value, String table, java.util.List<String> changes,
                               java.util.List<String> beforeRestores) throws Exception {
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();
        ContentChecksum.Result atFull = proof(server, "postgres");
        PgSupport.sql(server, changes.toArray(String[]::new));
        String diff = CliBackups.logicalBackup(repo, server, "postgres", "diff").get("id").asText();
        ContentChecksum.Result atDiff = proof(server, "postgres");
        assertThat(atDiff).isNotEqualTo(atFull);
        assertThat(PgSupport.queryString(server, "SELECT reset_val FROM pg_settings WHERE name = '" + setting + "'")).isEqualTo(value);
        PgSupport.sql(server, beforeRestores.toArray(String[]::new));
        for (Object[] restore : new Object[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", (String) restore[0], "--port",
                    CliBackups.port(server), "--to-db", (String) restore[1]);
            assertThat(r.exitCode()).as(restore[1] + ": " + r.err()).isZero();
            assertThat(proof(server, (String) restore[1])).as((String) restore[1]).isEqualTo(restore[2]);
        }
        PgSupport.sql(server, "CREATE DATABASE other");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", table);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(proof(server, "other").tables())
                .containsExactlyElementsOf(atDiff.tables().stream().filter(t -> t.table().equals("public." + table)).toList());
    }

    /**
     * A logical differential of database postgres, which must succeed, then its restore into a new
     * database "restored", proven by content against the source at the differential; returns what
     * the differential said.
     */
    static CliRun differentialRestored(LocalCluster server, Path repo) throws Exception {
        CliRun diff = CliRun.run("backup", "--logical", "--repo", repo.toString(), "--type", "diff", "--port", CliBackups.port(server),
                "-d", "postgres");
        assertThat(diff.exitCode()).as(diff.err().strip()).isZero();
        ContentChecksum.Result atDiff = proof(server, "postgres");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--port", CliBackups.port(server), "--to-db", "restored");
        assertThat(r.exitCode()).as("restore of the differential said: %s", r.err().strip()).isZero();
        assertThat(proof(server, "restored")).as("rows restored from the differential").isEqualTo(atDiff);
        return diff;
    }

    public static ConnectionSettings conn(LocalCluster c, String db) {
        return PgSupport.conn(c).withDbname(db);
    }

    public static ContentChecksum.Result proof(LocalCluster c, String db) throws SQLException {
        try (Connection conn = Db.connect(conn(c, db))) {
            Db.execute(conn, "SET temp_file_limit = -1"); // the proof's own sort of the rows, whatever limit a test gave the server
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

    /** The first column of the first row of {@code sql} run in database {@code db}. */
    public static String query(LocalCluster c, String db, String sql) throws SQLException {
        try (Connection conn = Db.connect(conn(c, db))) {
            return Db.queryString(conn, sql);
        }
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
