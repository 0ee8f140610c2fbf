package org.pgstrata.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Structural checks of a cluster with the amcheck extension: every B-tree index (including
 * heapallindexed, which proves each heap tuple has its index entry) and every table's heap. Installs the extension in the database if it is missing, so use it on
 * restored copies and test clusters.
 */
public final class Amcheck {
    private Amcheck() {
    }

    /** Returns one line per problem found; empty when the database is sound. */
    public static List<String> check(Connection c) throws SQLException {
        List<String> problems = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            st.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
        }
        List<long[]> indexes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT ci.oid, ci.oid::regclass::text FROM pg_index i
                JOIN pg_class ci ON ci.oid = i.indexrelid
                JOIN pg_am am ON am.oid = ci.relam
                WHERE am.amname = 'btree' AND ci.relpersistence <> 't' AND i.indisvalid AND i.indisready
                ORDER BY 1""")) {
            while (rs.next()) {
                indexes.add(new long[] {rs.getLong(1)});
                names.add(rs.getString(2));
            }
        }
        for (int i = 0; i < indexes.size(); i++) {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT bt_index_check(" + indexes.get(i)[0] + ", true)");
            } catch (SQLException e) {
                problems.add("index " + names.get(i) + ": " + e.getMessage().split("\n")[0]);
            }
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT cl.oid::regclass::text, v.blkno, v.offnum, v.msg
                FROM pg_class cl, LATERAL verify_heapam(cl.oid) v
                WHERE cl.relkind IN ('r', 'm', 't') AND cl.relpersistence <> 't'""")) {
            while (rs.next()) {
                problems.add("table " + rs.getString(1) + " block " + rs.getLong(2) + " item " + rs.getInt(3) + ": " + rs.getString(4));
            }
        }
        return problems;
    }
}
