package org.pgstrata.it;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * COPY writes a NULL element of an array as NULL ({x,NULL}), and reads it back as one only under
 * array_nulls = on, the default; a server with array_nulls = off in postgresql.conf (a setting
 * kept for applications from before 8.2) reads it as the four-letter string "NULL" in a text
 * array, and refuses it in an integer one. A logical restore onto such a server turned every NULL
 * element of a text[] column into the text 'NULL', silently and with exit 0, in the full's rows
 * (pg_restore sets no array_nulls) and in a differential's (pgstrata's own session); a
 * differential whose deletes named a key with a NULL element deleted nothing. pg_restore's
 * sessions and pgstrata's read rows under array_nulls = on.
 */
class LogicalArrayNullsOffTest extends PgTest {
    @Test
    void nullArrayElements_onAServerWithArrayNullsOff_stayNull() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE a (id int PRIMARY KEY, tags text[], nums int[])",
                "INSERT INTO a SELECT g, ARRAY['t' || g, NULL, 'NULL'], ARRAY[g, NULL] FROM generate_series(1, 300) g",
                "CREATE TABLE ak (k text[] PRIMARY KEY, v text)",
                "INSERT INTO ak SELECT ARRAY[g::text, NULL], 'v' || g FROM generate_series(1, 100) g",
                "ALTER SYSTEM SET array_nulls = off", "SELECT pg_reload_conf()");
        LogicalSupport.roundTripUnder(server, repo, "array_nulls", "off", "ak",
                "UPDATE a SET tags = ARRAY[NULL, 'u'] WHERE id % 7 = 0", "DELETE FROM a WHERE id % 11 = 0",
                "INSERT INTO a VALUES (1000, ARRAY[NULL]::text[], ARRAY[NULL]::int[])",
                "UPDATE ak SET v = 'changed' WHERE v LIKE '%3'", "DELETE FROM ak WHERE v LIKE '%5'");
    }
}
