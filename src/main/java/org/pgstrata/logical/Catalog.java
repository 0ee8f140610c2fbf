package org.pgstrata.logical;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.manifest.LogicalManifest.Column;
import org.pgstrata.manifest.LogicalManifest.DatabaseProperties;
import org.pgstrata.manifest.LogicalManifest.Setting;
import org.pgstrata.manifest.LogicalManifest.SequenceValue;

/** What a logical backup reads of a database's catalog, inside its snapshot. */
final class Catalog {
    private Catalog() {
    }

    /** How a key column is ordered and compared: as a number, or as its text in the "C" collation. */
    enum KeyKind { LONG, TEXT }

    /**
     * A table with data: the columns read (stored generated columns are left out: the server
     * computes them), its primary key and how each key column sorts.
     */
    /** @param binary every column read has a binary send function, so the table can be read in COPY's binary format */
    /** @param extensionCondition for an extension's configuration table, the condition pg_dump selects its rows by ("" for all); else null */
    record Table(long oid, String schema, String name, List<Column> columns, List<String> key, List<KeyKind> keyKinds,
                 List<String> indexes, List<String> ownedSequences, boolean binary, String rowRules, String extensionCondition) {
        String qualified() {
            return schema + "." + name;
        }

        String sqlName() {
            return ident(schema) + "." + ident(name);
        }

        String columnList() {
            return String.join(", ", columns.stream().map(c -> ident(c.name())).toList());
        }

        /** The position of each key column in {@link #columns}. */
        int[] keyPositions() {
            int[] pos = new int[key.size()];
            for (int i = 0; i < key.size(); i++) {
                pos[i] = -1;
                for (int j = 0; j < columns.size(); j++) {
                    if (columns.get(j).name().equals(key.get(i))) {
                        pos[i] = j;
                    }
                }
            }
            return pos;
        }

        /** ORDER BY of the key: numbers in their own order, everything else by its text in the "C" collation. */
        String keyOrder() {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < key.size(); i++) {
                parts.add(keyKinds.get(i) == KeyKind.LONG ? ident(key.get(i)) : ident(key.get(i)) + "::text COLLATE \"C\"");
            }
            return String.join(", ", parts);
        }
    }

    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** Ordinary tables and partitions outside the system schemas that no extension owns, and extensions' configuration tables. */
    static List<Table> tables(Connection c) throws SQLException {
        List<long[]> oids = new ArrayList<>();
        List<String[]> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT c.oid, n.nspname, c.relname, cfg.cond FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN (SELECT x.cfg, coalesce(x.cond, '') AS cond FROM pg_extension e
                           CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(cfg, cond)) cfg ON cfg.cfg = c.oid
                WHERE c.relkind = 'r' AND c.relpersistence <> 't'
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
                  AND (cfg.cfg IS NOT NULL
                       OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
                ORDER BY n.nspname, c.relname""")) {
            while (rs.next()) {
                oids.add(new long[] {rs.getLong(1)});
                names.add(new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
            }
        }
        List<Table> result = new ArrayList<>();
        String binarySql = String.format(BINARY, c.getMetaData().getDatabaseMajorVersion() >= 14
                ? "UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid" : "");
        for (int i = 0; i < oids.size(); i++) {
            long oid = oids.get(i)[0];
            result.add(new Table(oid, names.get(i)[0], names.get(i)[1], columns(c, oid), keyColumns(c, oid), keyKinds(c, oid),
                    strings(c, """
                            SELECT ci.relname FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                            WHERE i.indrelid = ? AND NOT EXISTS (SELECT 1 FROM pg_constraint co
                                WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))
                            ORDER BY 1""", oid),
                    strings(c, """
                            SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                              AND d.refobjid = ? AND d.deptype IN ('a', 'i')
                            ORDER BY 1""", oid),
                    "t".equals(strings(c, binarySql, oid).get(0).substring(0, 1)),
                    strings(c, ROW_RULES, oid).get(0), names.get(i)[2]));
        }
        return result;
    }

    /**
     * Whether every column read can be sent in COPY's binary format: its type has a send function,
     * and so has every type that the send function sends in turn (a composite's attributes, an
     * array's elements, a range's subtype, a multirange's range, a domain's base type). A
     * composite of isn's ean13 has record_send, which fails on the attribute ("no binary output
     * function available"). %s: the multirange step, on servers that have multiranges (14).
     */
    private static final String BINARY = """
            WITH RECURSIVE types(oid) AS (
                SELECT a.atttypid FROM pg_attribute a
                WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                UNION
                SELECT s.x FROM types JOIN pg_type t ON t.oid = types.oid CROSS JOIN LATERAL (
                    SELECT t.typbasetype UNION ALL SELECT t.typelem
                    UNION ALL SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                    UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
                    %s) s(x)
                WHERE s.x <> 0)
            SELECT coalesce(bool_and(t.typsend <> 0), true)::text FROM types JOIN pg_type t ON t.oid = types.oid""";

    /**
     * What decides whether a row is accepted into the table, beyond its columns' names and type
     * names: the columns' NOT NULL, the table's CHECK constraints and partition constraint (its
     * bounds and its ancestors'), and for every type its columns
     * use (through domains, arrays, ranges and composite types) the enum labels, the domain
     * constraints and a composite's attribute types (one added or dropped since, the old rows'
     * record literals have too few or too many fields). And a column's collation where it is not
     * its type's: the differential deletes its keys with the key's "=", and a key that became
     * case-insensitive since (a nondeterministic collation) would take the full's other rows
     * that differ from it in case only with it. And the functions those CHECK constraints call
     * (as pg_depend records them, the built-in ones aside): one replaced by a stricter body since
     * reads the same in pg_get_constraintdef and refuses the old rows. A differential loads the full's rows into its own schema before it applies
     * the changes: when these changed since the full, old rows may be refused, so the table is
     * stored whole.
     */
    private static final String ROW_RULES = """
            WITH RECURSIVE rel(oid) AS (SELECT ?::bigint::oid),
            types(oid) AS (
                SELECT a.atttypid FROM pg_attribute a JOIN rel ON a.attrelid = rel.oid WHERE a.attnum > 0 AND NOT a.attisdropped
                UNION
                SELECT s.x FROM types JOIN pg_type t ON t.oid = types.oid CROSS JOIN LATERAL (
                    SELECT t.typbasetype UNION ALL SELECT t.typelem
                    UNION ALL SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                    UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid) s(x)
                WHERE s.x <> 0),
            checks(oid) AS (
                SELECT co.oid FROM pg_constraint co JOIN rel ON co.conrelid = rel.oid WHERE co.contype = 'c'
                UNION SELECT d.oid FROM pg_constraint d JOIN types ON d.contypid = types.oid),
            funcs(oid) AS (
                SELECT dep.refobjid FROM pg_depend dep JOIN checks ON dep.objid = checks.oid
                WHERE dep.classid = 'pg_constraint'::regclass AND dep.refclassid = 'pg_proc'::regclass
                UNION
                SELECT dep.refobjid FROM funcs JOIN pg_depend dep ON dep.objid = funcs.oid
                WHERE dep.classid = 'pg_proc'::regclass AND dep.refclassid = 'pg_proc'::regclass)
            SELECT md5(concat_ws(' ; ',
                (SELECT string_agg(format('%s %s', quote_ident(a.attname), a.attnotnull)
                     || CASE WHEN a.attcollation <> ty.typcollation THEN (SELECT format(' COLLATE %I.%I', cn.nspname, co.collname)
                         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) ELSE '' END,
                     ',' ORDER BY a.attnum) FROM pg_attribute a
                 JOIN rel ON a.attrelid = rel.oid JOIN pg_type ty ON ty.oid = a.atttypid WHERE a.attnum > 0 AND NOT a.attisdropped),
                (SELECT string_agg(pg_get_constraintdef(co.oid), ',' ORDER BY co.conname, pg_get_constraintdef(co.oid)) FROM pg_constraint co
                 JOIN rel ON co.conrelid = rel.oid WHERE co.contype = 'c'),
                (SELECT pg_get_partition_constraintdef(rel.oid) FROM rel),
                (SELECT string_agg(format('%s %s [%s] [%s]', format_type(t.oid, NULL), t.typnotnull,
                     (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                     (SELECT string_agg(pg_get_constraintdef(d.oid), ',' ORDER BY d.conname) FROM pg_constraint d WHERE d.contypid = t.oid))
                     || CASE WHEN t.typrelid <> 0 THEN format(' (%s)', (SELECT string_agg(format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)) ELSE '' END,
                     ',' ORDER BY format_type(t.oid, NULL)) FROM types JOIN pg_type t ON t.oid = types.oid),
                (SELECT string_agg(md5(p::text), ',' ORDER BY md5(p::text)) FROM funcs JOIN pg_proc p ON p.oid = funcs.oid)))""";

    private static List<Column> columns(Connection c, long oid) throws SQLException {
        List<Column> cols = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
                WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum""")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.add(new Column(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return cols;
    }

    private static final String KEY_QUERY = """
            SELECT a.attname, a.atttypid FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ? AND i.indisprimary ORDER BY k.ord""";

    private static List<String> keyColumns(Connection c, long oid) throws SQLException {
        return strings(c, KEY_QUERY, oid);
    }

    private static List<KeyKind> keyKinds(Connection c, long oid) throws SQLException {
        List<KeyKind> kinds = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(KEY_QUERY)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long type = rs.getLong(2);
                    kinds.add(type == 20 || type == 21 || type == 23 ? KeyKind.LONG : KeyKind.TEXT); // int8, int2, int4
                }
            }
        }
        return kinds;
    }

    private static List<String> strings(Connection c, String sql, long oid) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /**
     * Every sequence outside the system schemas that no extension owns (but those an extension
     * marks as its configuration, whose state pg_dump dumps), with its state now.
     */
    static List<SequenceValue> sequences(Connection c) throws SQLException {
        List<String[]> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
                  AND (NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
                       OR EXISTS (SELECT 1 FROM pg_extension e WHERE c.oid = ANY (e.extconfig)))
                ORDER BY 1, 2""")) {
            while (rs.next()) {
                names.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        List<SequenceValue> values = new ArrayList<>();
        for (String[] n : names) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + ident(n[0]) + "." + ident(n[1]))) {
                rs.next();
                values.add(new SequenceValue(n[0], n[1], rs.getLong(1), rs.getBoolean(2)));
            }
        }
        return values;
    }

    /**
     * The database's comment and settings (its own, and its roles' in it), as pg_dump --create
     * would write them; in the snapshot, like everything else.
     */
    static DatabaseProperties databaseProperties(Connection c) throws SQLException {
        String comment;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()")) {
            rs.next();
            comment = rs.getString(1);
        }
        List<Setting> settings = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT r.rolname, u.setting FROM pg_db_role_setting s
                JOIN pg_database d ON d.oid = s.setdatabase AND d.datname = current_database()
                LEFT JOIN pg_roles r ON r.oid = s.setrole
                CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY AS u(setting, i)
                WHERE s.setrole = 0 OR r.rolname IS NOT NULL
                ORDER BY s.setrole <> 0, r.rolname, u.i""")) {
            while (rs.next()) {
                String setting = rs.getString(2);
                int eq = setting.indexOf('=');
                if (eq > 0) {
                    settings.add(new Setting(rs.getString(1), setting.substring(0, eq), setting.substring(eq + 1)));
                }
            }
        }
        String owner;
        int connectionLimit;
        List<org.pgstrata.manifest.LogicalManifest.Grant> grants = null;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pg_get_userbyid(datdba), datconnlimit, datacl IS NULL FROM pg_database WHERE datname = current_database()")) {
            rs.next();
            owner = rs.getString(1);
            connectionLimit = rs.getInt(2);
            if (!rs.getBoolean(3)) {
                grants = new ArrayList<>();
            }
        }
        if (grants != null) {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable
                    FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, i)
                    WHERE d.datname = current_database() ORDER BY a.i""")) {
                while (rs.next()) {
                    grants.add(new org.pgstrata.manifest.LogicalManifest.Grant(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
                }
            }
        }
        int version = Integer.parseInt(org.pgstrata.db.Db.queryString(c, "SHOW server_version_num"));
        String provider = version >= 150000 ? "datlocprovider::text" : "NULL::text";
        String locale = version >= 170000 ? "datlocale" : version >= 150000 ? "daticulocale" : "NULL::text";
        org.pgstrata.manifest.LogicalManifest.Locale created;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_encoding_to_char(encoding), datcollate, datctype, "
                + provider + ", " + locale + " FROM pg_database WHERE datname = current_database()")) {
            rs.next();
            created = new org.pgstrata.manifest.LogicalManifest.Locale(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                    rs.getString(5));
        }
        return new DatabaseProperties(comment, settings, owner, connectionLimit, grants, created);
    }

    /**
     * The tables (schema.name) whose rows row-level security would hide from this session's role:
     * a scan of them would see some rows only, and a differential would record the others as
     * deleted. With row_security off the server refuses such a scan; this names them first.
     */
    static List<String> hiddenByRowSecurity(Connection c, List<Table> tables) throws SQLException {
        List<String> hidden = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid::bigint = ANY (?) AND c.relrowsecurity AND row_security_active(c.oid) ORDER BY 1, 2""")) {
            ps.setArray(1, c.createArrayOf("bigint", tables.stream().map(Table::oid).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    hidden.add(rs.getString(1) + "." + rs.getString(2));
                }
            }
        }
        return hidden;
    }

    /**
     * The subscriptions of this database that pg_dump leaves out because the session's role is
     * not a superuser (it only warns, and exits 0); none for a superuser.
     */
    static List<String> subscriptionsLeftOut(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT s.subname FROM pg_subscription s
                WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) ORDER BY 1""")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    /**
     * The user mappings (server and role) whose options the session's role cannot see: the
     * pg_user_mappings view shows them only to the mapped role, the server's owner or a superuser,
     * and pg_dump writes the others without their options (user, password ...), exit 0. The same
     * test as the view's, on the columns any role may read.
     */
    static List<String> userMappingsWithHiddenOptions(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT m.srvname || ' for ' || m.usename FROM pg_user_mappings m JOIN pg_foreign_server s ON s.oid = m.srvid
                WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                  AND NOT (m.umuser <> 0 AND m.usename = current_user
                               AND (pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE'))
                           OR m.umuser = 0 AND pg_has_role(s.srvowner, 'USAGE'))
                ORDER BY m.srvname, m.usename""")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    /** Takes the lock pg_dump takes, so that no table is dropped or rewritten under the backup. */
    static void lock(Connection c, List<Table> tables) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (Table t : tables) {
                st.execute("LOCK TABLE " + t.sqlName() + " IN ACCESS SHARE MODE");
            }
        }
    }
}
