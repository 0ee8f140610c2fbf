package org.pgstrata.drill;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.DatabaseLocales;
import org.pgstrata.db.Db;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

/**
 * The proof a drill runs on a restored, running copy, database by database (every one that
 * accepts connections; template0 never does, and is never written; nor does one that an
 * interrupted DROP DATABASE left invalid, datconnlimit -2, which the source cannot open either):
 * <ul>
 *   <li>amcheck's verify_heapam on every table, materialized view and TOAST table, TOAST
 *       pointers followed;</li>
 *   <li>bt_index_check on every B-tree index with heapallindexed (each heap tuple has its index
 *       entry), and checkunique from PostgreSQL 17; gin_index_check on every GIN index where
 *       amcheck has it (PostgreSQL 18);</li>
 *   <li>every table and populated materialized view read to its last row and column through
 *       COPY, which detoasts every value: a page that cannot be read, or a value that cannot be
 *       decompressed, fails here.</li>
 * </ul>
 * Each check runs on its own, so that one failure names its relation and does not hide the others.
 */
final class DrillChecks {
    /** What the checks covered, for the record. */
    static final class Counts {
        int databases;
        long relations;
        long rows;
        long bytes;
    }

    private DrillChecks() {
    }

    /** {@code at} in a database that exists: postgres, else template1 (which every cluster has). */
    static ConnectionSettings anyDatabase(ConnectionSettings at) {
        ConnectionSettings postgres = withDatabase(at, "postgres");
        try (Connection c = Db.connect(postgres, "pgstrata drill")) {
            return postgres;
        } catch (PgstrataException | SQLException e) {
            return withDatabase(at, "template1");
        }
    }

    private static ConnectionSettings withDatabase(ConnectionSettings at, String db) {
        return at.withDbname(db); // with its password file and SSL settings
    }

    static void run(ConnectionSettings at, Progress progress, List<String> checks, List<String> findings, Counts counts) throws SQLException {
        java.util.Map<String, String> locales;
        List<String[]> prepared = new ArrayList<>();
        List<String> unnamable;
        try (Connection c = Db.connect(anyDatabase(at), "pgstrata drill")) {
            locales = DatabaseLocales.of(c);
            unnamable = DatabaseLocales.unnamable(c);
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT gid, quote_literal(gid), database FROM pg_prepared_xacts ORDER BY prepared, gid")) {
                while (rs.next()) {
                    prepared.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                }
            }
        }
        for (String db : unnamable) {
            // Not a fault of the backup: the server keeps the name in another encoding than any connection of ours can send
            checks.add("database " + db + ": skipped, none of these checks ran: its name is not UTF-8 (a session of a database in another"
                    + " encoding, such as LATIN1, made it), and pgjdbc names a database in UTF-8 alone; check it with psql under that"
                    + " encoding (PGCLIENTENCODING=LATIN1, say)");
        }
        rollBackPrepared(at, prepared, checks);
        for (String db : locales.keySet()) {
            // a session that may read a SQL_ASCII database's rows as the bytes they are
            try (Connection c = Db.connectForCopy(withDatabase(at, db), "pgstrata drill")) {
                checkDatabase(c, db, progress, checks, findings, counts);
            } catch (PgstrataException e) {
                if (DatabaseLocales.refusedFor(e)) {
                    // The source's host had the database's locale, this one does not: the host, not the backup, is what
                    // keeps it from being checked (a drill must not record the backup as failed)
                    throw new PgstrataException(ErrorCode.SERVER_SETTING, "the restored copy's database " + db + " cannot be checked on this host:"
                            + " it was created with " + locales.get(db) + ", a locale this host lacks (" + e.getMessage() + ")",
                            "install that locale on this host (localedef or the locales package), then run the command again", e);
                }
                throw e;
            }
            counts.databases++;
        }
    }

    /**
     * Transactions prepared for two-phase commit that were open at the backup's point are open in
     * the copy too, holding their locks; nothing in the copy ever finishes them, and a check that
     * needs a lock one holds (verify_heapam on a table it locked, or altered) waited for ever. The
     * copy is scratch: they are rolled back there, each in its own database as PostgreSQL requires,
     * and the record says so. The source keeps them.
     */
    private static void rollBackPrepared(ConnectionSettings at, List<String[]> prepared, List<String> checks) throws SQLException {
        if (prepared.isEmpty()) {
            return;
        }
        List<String> gids = new ArrayList<>();
        List<String> left = new ArrayList<>();
        for (String[] p : prepared) {
            try (Connection c = Db.connect(withDatabase(at, p[2]), "pgstrata drill")) {
                Db.execute(c, "ROLLBACK PREPARED " + p[1]);
                gids.add(p[0] + " (database " + p[2] + ")");
            } catch (PgstrataException | SQLException e) {
                // a database that no longer takes connections (datallowconn turned off since): its checks are skipped too; or a
                // role that may not finish another's transaction (not its owner, nor a superuser): the checks then say what it holds
                left.add(p[0] + " (database " + p[2] + ": " + e.getMessage() + ")");
            }
        }
        if (!gids.isEmpty()) {
            checks.add("rolled back " + gids.size() + " prepared transaction(s) that were open at the backup's point, in the copy only"
                    + " (their locks would stop the checks): " + String.join(", ", gids));
        }
        if (!left.isEmpty()) {
            checks.add("left " + left.size() + " prepared transaction(s) open in the copy: " + String.join(", ", left));
        }
    }

    /** @param usable whether {@code name} may be sent back to name the relation (false: shown with \\xHH for bytes not UTF-8) */
    private record Rel(long oid, String name, String kind, boolean usable) {
    }

    /**
     * The relations {@code sql} lists (oid, name, kind). In a SQL_ASCII database the name is read as bytea: the server refuses
     * to send a UTF8 client, as text, a name made by a Latin-1 client, and the whole list failed with it.
     */
    private static List<Rel> relations(Connection c, String sql, boolean sqlAscii) throws SQLException {
        List<Rel> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                if (sqlAscii) {
                    byte[] name = rs.getBytes(2);
                    out.add(new Rel(rs.getLong(1), Db.shown(name), rs.getString(3), Db.utf8(name) != null));
                } else {
                    out.add(new Rel(rs.getLong(1), rs.getString(2), rs.getString(3), true));
                }
            }
        }
        return out;
    }

    static void checkDatabase(Connection c, String db, Progress progress, List<String> checks, List<String> findings, Counts counts)
            throws SQLException {
        // amcheck as the source left it may be in a schema off the search_path, or an old version (1.0 has no
        // verify_heapam, nor bt_index_check's heapallindexed); the database may default to read-only transactions,
        // have no schema on its search_path to create in, or an event trigger that refuses DDL. The copy is scratch: it gets amcheck's current version, and
        // every call names amcheck's schema.
        String schema;
        try (Statement st = c.createStatement()) {
            st.execute("SET default_transaction_read_only = off");
            // nor may the source's event triggers (one that forbids DDL) stop amcheck's creation in the copy
            st.execute("SET session_replication_role = replica");
            schema = Db.queryString(c, "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'");
            if (schema == null) {
                st.execute("CREATE SCHEMA IF NOT EXISTS pgstrata_drill");
                st.execute("CREATE EXTENSION amcheck SCHEMA pgstrata_drill");
                schema = "pgstrata_drill";
            } else {
                st.execute("ALTER EXTENSION amcheck UPDATE");
            }
        }
        String amcheck = schema + ".";
        int major = Integer.parseInt(Db.queryString(c, "SELECT current_setting('server_version_num')")) / 10000;
        boolean sqlAscii = Db.SQL_ASCII.equals(Db.queryString(c, "SELECT current_setting('server_encoding')"));
        java.util.function.UnaryOperator<String> asName = sqlAscii ? Db::bytesOf : name -> name;
        boolean gin = Db.queryString(c, "SELECT to_regproc(quote_ident(n.nspname) || '.gin_index_check') FROM pg_extension e"
                + " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'") != null;
        List<Rel> heaps = relations(c, """
                SELECT cl.oid, %s, cl.relkind::text FROM pg_class cl
                WHERE cl.relkind IN ('r', 'm', 't') AND cl.relpersistence <> 't' ORDER BY cl.oid""".formatted(asName.apply("cl.oid::regclass::text")), sqlAscii);
        List<Rel> indexes = relations(c, """
                SELECT ci.oid, %s, am.amname::text || CASE WHEN i.indisunique THEN '+unique' ELSE '' END
                FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_am am ON am.oid = ci.relam
                WHERE am.amname IN ('btree', 'gin') AND ci.relkind = 'i' AND ci.relpersistence <> 't' AND i.indisvalid AND i.indisready
                ORDER BY ci.oid""".formatted(asName.apply("ci.oid::regclass::text")), sqlAscii);
        List<Rel> tables = relations(c, """
                SELECT cl.oid, %s, cl.relkind::text
                FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
                WHERE (cl.relkind = 'r' OR (cl.relkind = 'm' AND cl.relispopulated)) AND cl.relpersistence <> 't' ORDER BY cl.oid"""
                .formatted(asName.apply("quote_ident(n.nspname) || '.' || quote_ident(cl.relname)")), sqlAscii);
        int before = findings.size();
        String in = "database " + db + ": ";
        int n = 0;
        progress.status("drill: " + in + "verify_heapam on " + heaps.size() + " tables");
        for (Rel h : heaps) {
            progress.advance(++n, heaps.size());
            String sql = "SELECT blkno, offnum, attnum, msg FROM " + amcheck + "verify_heapam(" + h.oid() + ", check_toast => " + !h.kind().equals("t") + ")";
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    findings.add(in + "table " + h.name() + " (verify_heapam): block " + rs.getLong(1) + ", item " + rs.getString(2)
                            + (rs.getString(3) == null ? "" : ", column " + rs.getString(3)) + ": " + rs.getString(4));
                }
            } catch (SQLException e) {
                lackedLibrary(e, in + "table " + h.name());
                findings.add(in + "table " + h.name() + " (verify_heapam): " + firstLine(e));
            }
        }
        int btree = 0;
        int ginCount = 0;
        n = 0;
        progress.status("drill: " + in + "checking " + indexes.size() + " indexes");
        for (Rel i : indexes) {
            progress.advance(++n, indexes.size());
            String sql;
            String check;
            if (i.kind().startsWith("btree")) {
                boolean unique = i.kind().endsWith("+unique") && major >= 17;
                sql = "SELECT " + amcheck + "bt_index_check(" + i.oid() + ", true" + (unique ? ", true" : "") + ")";
                check = "bt_index_check heapallindexed" + (unique ? " checkunique" : "");
                btree++;
            } else if (gin) {
                sql = "SELECT " + amcheck + "gin_index_check(" + i.oid() + ")";
                check = "gin_index_check";
                ginCount++;
            } else {
                continue;
            }
            try (Statement st = c.createStatement()) {
                st.execute(sql);
            } catch (SQLException e) {
                lackedLibrary(e, in + "index " + i.name());
                findings.add(in + "index " + i.name() + " (" + check + "): " + firstLine(e));
            }
        }
        CopyManager copy = new CopyManager(c.unwrap(BaseConnection.class));
        long rows = 0;
        long[] bytes = {0};
        OutputStream counter = new OutputStream() {
            @Override
            public void write(int b) {
                bytes[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes[0] += len;
            }
        };
        n = 0;
        progress.status("drill: " + in + "reading " + tables.size() + " tables to the last row");
        if (sqlAscii) {
            // rows as the bytes they are: under UTF8 the server refuses a Latin-1 byte (pgjdbc does not decode COPY's rows)
            Db.execute(c, "SET client_encoding = '" + Db.SQL_ASCII + "'");
        }
        for (Rel t : tables) {
            progress.advance(++n, tables.size());
            try {
                if (t.usable()) {
                    rows += copy.copyOut("COPY (SELECT * FROM ONLY " + t.name() + ") TO STDOUT", counter);
                } else {
                    // a name that cannot be sent back: named by the server itself, from the oid, in a view of the scratch copy's session
                    try (Statement st = c.createStatement()) {
                        st.execute("DO $$BEGIN EXECUTE 'DROP VIEW IF EXISTS pg_temp.pgstrata_drill_rows'; EXECUTE format("
                                + "'CREATE TEMP VIEW pgstrata_drill_rows AS SELECT * FROM ONLY %s', " + t.oid() + "::regclass); END$$");
                    }
                    rows += copy.copyOut("COPY (SELECT * FROM pg_temp.pgstrata_drill_rows) TO STDOUT", counter);
                }
            } catch (SQLException e) {
                lackedLibrary(e, in + "table " + t.name());
                findings.add(in + "table " + t.name() + " (read to the last row): " + firstLine(e));
            } catch (IOException e) {
                findings.add(in + "table " + t.name() + " (read to the last row): " + e.getMessage());
            }
        }
        counts.relations += heaps.size() + btree + ginCount;
        counts.rows += rows;
        counts.bytes += bytes[0];
        checks.add(in + "verify_heapam on " + heaps.size() + " tables (TOAST followed), bt_index_check heapallindexed"
                + (major >= 17 ? " (checkunique on unique ones)" : "") + " on " + btree + " B-tree indexes"
                + (gin ? ", gin_index_check on " + ginCount + " GIN indexes" : "") + ", " + tables.size() + " tables read to the last row ("
                + rows + " rows, " + bytes[0] + " bytes)" + (findings.size() > before ? ": " + (findings.size() - before) + " finding(s)" : ""));
    }

    /** PostgreSQL's words (dfmgr.c) when a library of an extension the database uses is not in this host's binaries. */
    private static final java.util.regex.Pattern MISSING_LIBRARY = java.util.regex.Pattern.compile(
            "could not (?:access file|load library) \"(\\$libdir/[^\"]+)\"");

    /**
     * Throws when {@code e} says the server lacks a library (an extension's, such as hstore's, that the source's host
     * had): this host's binaries, not the backup, keep {@code what} from being checked, so no drill is recorded.
     */
    private static void lackedLibrary(SQLException e, String what) {
        java.util.regex.Matcher m = MISSING_LIBRARY.matcher(String.valueOf(e.getMessage()));
        if (m.find()) {
            throw new PgstrataException(ErrorCode.BINARIES, "the restored copy's " + what + " cannot be checked with this host's PostgreSQL: "
                    + "it lacks library \"" + m.group(1) + "\" of an extension the database uses (" + firstLine(e) + ")",
                    "install the package that provides that extension for these binaries on this host, or pass --pg-bin binaries that have it;"
                            + " then run the command again", e);
        }
    }

    private static String firstLine(SQLException e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
