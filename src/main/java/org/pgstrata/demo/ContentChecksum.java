package org.pgstrata.demo;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The content proof: for every user table, its row count and an MD5 over the MD5s of all its
 * rows (as text) in primary-key order (whole-row order for a table without a primary key), then
 * one SHA-256 over all tables' lines. Two clusters with equal proofs hold the same rows.
 */
public final class ContentChecksum {

    public record TableSum(String table, long rows, String hash) {
    }

    public record Result(List<TableSum> tables, String combined) {
        public long totalRows() {
            return tables.stream().mapToLong(TableSum::rows).sum();
        }
    }

    private ContentChecksum() {
    }

    public static Result compute(Connection c) throws SQLException {
        List<String[]> tables = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT n.nspname, cl.relname, cl.oid
                FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
                WHERE cl.relkind IN ('r', 'p')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
                  AND cl.relpersistence = 'p'
                ORDER BY n.nspname, cl.relname""")) {
            while (rs.next()) {
                tables.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
            }
        }
        List<TableSum> sums = new ArrayList<>();
        for (String[] t : tables) {
            String qualified = quoteIdent(t[0]) + "." + quoteIdent(t[1]);
            String order = primaryKeyOrder(c, Long.parseLong(t[2]));
            String sql = "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY " + order + "), '')) FROM "
                    + qualified + " AS t";
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                sums.add(new TableSum(t[0] + "." + t[1], rs.getLong(1), rs.getString(2)));
            }
        }
        MessageDigest d = sha256();
        for (TableSum s : sums) {
            d.update((s.table() + " " + s.rows() + " " + s.hash() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new Result(sums, HexFormat.of().formatHex(d.digest()));
    }

    private static String primaryKeyOrder(Connection c, long relid) throws SQLException {
        List<String> cols = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.attname FROM pg_index i
                JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = ? AND i.indisprimary ORDER BY k.ord""")) {
            ps.setLong(1, relid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.add("t." + quoteIdent(rs.getString(1)));
                }
            }
        }
        return cols.isEmpty() ? "t::text" : String.join(", ", cols);
    }

    static String quoteIdent(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
