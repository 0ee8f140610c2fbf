package org.pgstrata.wal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.pgstrata.db.Db;

/** A server's archive_library (PostgreSQL 15 and later), which archives instead of archive_command when set. */
final class ArchiveLibrary {
    private ArchiveLibrary() {
    }

    /** The archive_library in effect; null when none is set or the server has no such setting (before 15). */
    static String of(Connection c) throws SQLException {
        if (Db.serverVersionNum(c) < 150000) {
            return null;
        }
        String library = Db.queryString(c, "SHOW archive_library");
        return library == null || library.isBlank() ? null : library;
    }

    /** "archive_library is set to 'X' (in FILE line N)", the place when the server tells it (to superusers and pg_read_all_settings). */
    static String describe(Connection c, String library) throws SQLException {
        String where = null;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT sourcefile, sourceline FROM pg_settings WHERE name = 'archive_library'")) {
            if (rs.next() && rs.getString(1) != null) {
                where = rs.getString(1) + " line " + rs.getInt(2);
            }
        }
        return "archive_library is set to '" + library + "'" + (where == null ? "" : " (in " + where + ")");
    }
}
