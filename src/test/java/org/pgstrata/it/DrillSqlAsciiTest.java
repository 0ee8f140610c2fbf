package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A cluster with a SQL_ASCII database (initdb's encoding under the C locale without -E) whose
 * clients wrote Latin-1: a table and an index named in it, and rows of it. The server refuses to
 * send those bytes to a UTF8 client, so the drill's list of relations failed ("invalid byte
 * sequence for encoding UTF8: 0xe9 0x22") and the sound backup was recorded as FAILED, "do not
 * rely on this backup". The drill now reads such a database's names and rows as the bytes they
 * are, and passes, having read every row; a database named in Latin-1 (made from a LATIN1
 * database's session) is checked too.
 */
class DrillSqlAsciiTest extends PgTest {
    @Test
    void aDrillOfAClusterWithLatin1NamesAndRowsInASqlAsciiDatabase_passesAndReadsEveryRow() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE DATABASE legacy ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
                "CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
                // a backslash, which a cast of a name to bytea reads as an escape (every drill of the cluster failed)
                "CREATE DATABASE \"back\\slash\"");
        // "café" and its index as a Latin-1 client made them: E9, not UTF-8's C3 A9
        LogicalSupport.sql(source, "legacy", """
                DO $$
                DECLARE t text := convert_from('\\x636166e9'::bytea, 'SQL_ASCII');
                BEGIN
                    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', t);
                    EXECUTE format('INSERT INTO %I SELECT g, %L || g FROM generate_series(1, 250) g', t,
                            convert_from('\\xfc626572'::bytea, 'SQL_ASCII'));
                    EXECUTE format('CREATE INDEX %I ON %I (v)', t || '_v', t);
                END $$""", "CREATE TABLE \"a\\b\" (id int)", "INSERT INTO \"a\\b\" VALUES (1)");
        // a session of a LATIN1 database stores the name it is given in Latin-1, in the shared catalogue
        LogicalSupport.sql(source, "latin", "CREATE DATABASE \"d\u00e9j\u00e0\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        CliBackups.backupId(repo, source, "full");

        CliRun drill = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", dir.resolve("drills").toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isZero();
        String said = drill.out() + drill.err();
        assertThat(said).contains("database back\\slash: ");
        assertThat(said).contains("PASSED").as("the database named in Latin-1 is named as skipped, and why")
                .contains("database d\\xE9j\\xE0: skipped, none of these checks ran: its name is not UTF-8");
        // legacy's tables are postgres's, "café" and "a\b", each read to its last row
        java.util.regex.Matcher legacy = java.util.regex.Pattern.compile("database legacy: .*, (\\d+) tables read to the last row").matcher(said);
        java.util.regex.Matcher postgres = java.util.regex.Pattern.compile("database postgres: .*, (\\d+) tables read to the last row").matcher(said);
        assertThat(legacy.find() && postgres.find()).as(said).isTrue();
        assertThat(Integer.parseInt(legacy.group(1))).isEqualTo(Integer.parseInt(postgres.group(1)) + 2);

        // restore --start connects to a database of each locale: one it cannot name is not one it may fail on
        int port = LocalCluster.freePort();
        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("restored").toString(), "--start",
                "--port", String.valueOf(port));
        assertThat(restore.exitCode()).as(restore.out() + restore.err()).isZero();
        LocalCluster restored = pg.trackRestored(dir.resolve("restored"), 17);
        String table = "SELECT count(*) || ' ' || md5(string_agg(encode(convert_to(relname::text, 'SQL_ASCII'), 'hex'), ',')) FROM pg_class"
                + " WHERE relname::text LIKE 'caf%'";
        assertThat(LogicalSupport.query(restored, "legacy", table)).isEqualTo(LogicalSupport.query(source, "legacy", table)).startsWith("3 "); // the table, its key, its index
        // the rows of "café", as bytes, named by the server from pg_class
        String content = "SELECT query_to_xml(format('SELECT count(*) || '' '' || md5(string_agg(id || '':'' || encode(convert_to(v, ''SQL_ASCII''),"
                + " ''hex''), '','' ORDER BY id)) AS proof FROM %I', relname), false, false, '')::text FROM pg_class WHERE relkind = 'r'"
                + " AND relname::text LIKE 'caf%'";
        assertThat(LogicalSupport.query(restored, "legacy", content)).isEqualTo(LogicalSupport.query(source, "legacy", content)).contains("250 ");
    }
}
