package org.pgstrata.it;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * The proof of a restore (DESIGN.md) over a whole cluster rather than one database:
 * {@link ContentChecksum} of every database that is not a template, and amcheck over every
 * database that takes connections.
 */
final class ClusterContent {
    private ClusterContent() {
    }

    /** Database name to its content proof, for every non-template database, by name. */
    static Map<String, ContentChecksum.Result> of(LocalCluster c) throws SQLException {
        return of(PgSupport.conn(c));
    }

    /** {@link #of(LocalCluster)} for the server {@code server} names (one that this process cannot ask pg_ctl about). */
    static Map<String, ContentChecksum.Result> of(org.pgstrata.api.ConnectionSettings server) throws SQLException {
        Map<String, ContentChecksum.Result> proof = new TreeMap<>();
        for (String db : databases(server, false)) {
            try (Connection conn = Db.connect(server.withDbname(db))) {
                proof.put(db, ContentChecksum.compute(conn));
            }
        }
        return proof;
    }

    /** The content of every database, after checking that amcheck finds nothing in any (use on restored copies only). */
    static Map<String, ContentChecksum.Result> proof(LocalCluster c) throws SQLException {
        org.assertj.core.api.Assertions.assertThat(amcheck(c)).as("amcheck of " + c.pgdata()).isEmpty();
        return of(c);
    }

    /**
     * amcheck over every database that takes connections (template1 too: its pages are restored
     * like any other). Installs the extension, so use it on restored copies only. One line per
     * problem, prefixed with the database; empty when all is sound.
     */
    static List<String> amcheck(LocalCluster c) throws SQLException {
        return amcheck(PgSupport.conn(c));
    }

    /** {@link #amcheck(LocalCluster)} for the server {@code server} names. */
    static List<String> amcheck(org.pgstrata.api.ConnectionSettings server) throws SQLException {
        List<String> problems = new ArrayList<>();
        for (String db : databases(server, true)) {
            try (Connection conn = Db.connect(server.withDbname(db))) {
                for (String p : Amcheck.check(conn)) {
                    problems.add(db + ": " + p);
                }
            }
        }
        return problems;
    }

    /** The databases that take connections (template0 does not), templates only if asked, by name. */
    static List<String> databases(LocalCluster c, boolean withTemplates) throws SQLException {
        return databases(PgSupport.conn(c), withTemplates);
    }

    static List<String> databases(org.pgstrata.api.ConnectionSettings server, boolean withTemplates) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Connection conn = Db.connect(server); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_database WHERE datallowconn"
                     + (withTemplates ? "" : " AND NOT datistemplate") + " ORDER BY datname")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }
}
