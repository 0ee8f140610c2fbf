package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A SQL_ASCII database (initdb's encoding under the C locale without -E, common in older
 * installations) holds whatever bytes its clients sent, Latin-1 among them. The server passes
 * them to a client only if they are valid in the client's encoding, and checks what comes in
 * likewise: under pgjdbc's UTF8, a logical backup of such a database failed at the first Latin-1
 * byte (exit 19, "invalid byte sequence for encoding UTF8"), though pg_dump alone takes it. Its
 * rows are now copied as the bytes they are (client_encoding SQL_ASCII for the COPY alone: pgjdbc
 * decodes SQL_ASCII as ASCII, so names and everything else stay in UTF8).
 */
class LogicalSqlAsciiTest extends PgTest {
    /** The rows of t and of "tëxt" as their bytes. */
    private static final String T = "SELECT count(*) || ' ' || md5(string_agg(id || ':' || encode(convert_to(v, 'SQL_ASCII'), 'hex'), ',' ORDER BY id)) FROM t";
    private static final String TEXT = "SELECT count(*) || ' ' || md5(string_agg(encode(convert_to(k, 'SQL_ASCII'), 'hex') || ':' || n, ','"
            + " ORDER BY convert_to(k, 'SQL_ASCII'))) FROM \"t\u00ebxt\"";
    private static final String PROOF = "SELECT (" + T + ") || ' ' || (" + TEXT + ")";

    @Test
    void aSqlAsciiDatabaseWithLatin1Bytes_restoresFromAFullAndADifferential() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE legacy ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        LogicalSupport.sql(server, "legacy", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, 'caf' || convert_from('\\xe9'::bytea, 'SQL_ASCII') || g FROM generate_series(1, 200) g",
                // a name in UTF-8 (as a UTF8 client made it), keys in Latin-1: read in key order and merged with the full's index
                "CREATE TABLE \"t\u00ebxt\" (k text PRIMARY KEY, n int)",
                "INSERT INTO \"t\u00ebxt\" SELECT 'k' || convert_from('\\xe9'::bytea, 'SQL_ASCII') || g, g FROM generate_series(1, 100) g");
        String full = CliBackups.logicalBackup(repo, server, "legacy", "full").get("id").asText();
        String atFull = query(server, "legacy", PROOF);
        LogicalSupport.sql(server, "legacy", "UPDATE t SET v = convert_from('\\xfc'::bytea, 'SQL_ASCII') || 'ber' WHERE id % 10 = 0",
                "INSERT INTO t VALUES (201, 'na' || convert_from('\\xef'::bytea, 'SQL_ASCII') || 've')",
                "UPDATE \"t\u00ebxt\" SET n = -n WHERE n % 3 = 0", "DELETE FROM \"t\u00ebxt\" WHERE n = 5",
                "INSERT INTO \"t\u00ebxt\" VALUES ('z' || convert_from('\\xff'::bytea, 'SQL_ASCII'), 0)");
        String diff = CliBackups.logicalBackup(repo, server, "legacy", "diff").get("id").asText();
        String atDiff = query(server, "legacy", PROOF);
        assertThat(atDiff).isNotEqualTo(atFull);
        for (String[] restore : new String[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", restore[0], "--port",
                    CliBackups.port(server), "--to-db", restore[1]);
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(server, restore[1], PROOF)).as(restore[1]).isEqualTo(restore[2]);
        }
        // One table into an existing SQL_ASCII database, from the differential
        PgSupport.sql(server, "CREATE DATABASE other ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", "t\u00ebxt");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(query(server, "other", TEXT)).isEqualTo(query(server, "legacy", TEXT));
    }
}
