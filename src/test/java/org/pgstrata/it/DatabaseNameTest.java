package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A database name with the characters a URL gives meaning to ('+', '%', '?', '/', '#', '&'),
 * spaces, quotes and Unicode is reached as it is: it used to go raw into the JDBC URL ("Unable
 * to parse URL"). Through the command line, a logical backup of it restores into another such name.
 */
class DatabaseNameTest extends PgTest {
    static final String NAME = "a+b%c?d/e#f&g h 'q\" é";
    static final String OTHER = "restored %2B + ?x";

    @Test
    void aDatabaseNamedWithUrlCharacters_isConnectedToBackedUpAndRestoredByItsName() throws Exception {
        LocalCluster c = pg.start("c", LogicalSupport.serverMajor());
        PgSupport.sql(c, "CREATE DATABASE " + ident(NAME));
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(NAME))) {
            assertThat(Db.queryString(conn, "SELECT current_database()")).isEqualTo(NAME);
            Db.execute(conn, "CREATE TABLE t (id int PRIMARY KEY, v text)");
            Db.execute(conn, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
        }
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, c, NAME, "full").get("id").asText();
        CliBackups.logicalRestore(repo, c, id, OTHER);
        assertThat(LogicalSupport.proof(c, OTHER).combined()).isEqualTo(LogicalSupport.proof(c, NAME).combined());
    }

    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
