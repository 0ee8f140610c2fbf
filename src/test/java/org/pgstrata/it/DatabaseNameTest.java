package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * A database name with the characters a URL gives meaning to ('+', '%', '?', '/', '#', '&'),
 * spaces, quotes and Unicode is reached as it is: it used to go raw into the JDBC URL ("Unable
 * to parse URL"). Through the command line, a logical backup of it restores into another such name.
 */
class DatabaseNameTest {
    static final String NAME = "a+b%c?d/e#f&g h 'q\" é";
    static final String OTHER = "restored %2B + ?x";

    @TempDir
    Path dir;
    PgSupport pg;

    @BeforeEach
    void start() {
        pg = new PgSupport(dir);
    }

    @AfterEach
    void stop() {
        pg.close();
    }

    @Test
    void aDatabaseNamedWithUrlCharacters_isConnectedToBackedUpAndRestoredByItsName() throws Exception {
        LocalCluster c = pg.start("c", LogicalSupport.serverMajor());
        PgSupport.sql(c, "CREATE DATABASE " + ident(NAME));
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname(NAME))) {
            assertThat(Db.queryString(conn, "SELECT current_database()")).isEqualTo(NAME);
            Db.execute(conn, "CREATE TABLE t (id int PRIMARY KEY, v text)");
            Db.execute(conn, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
        }
        String port = Integer.toString(PgSupport.conn(c).port());
        Path repo = dir.resolve("repo");
        CliRun backup = CliRun.run("backup", "-q", "--repo", repo.toString(), "--logical", "--type", "full", "--port", port, "-d", NAME);
        assertThat(backup.exitCode()).as(backup.err()).isZero();
        CliRun restore = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", OTHER, "--port", port);
        assertThat(restore.exitCode()).as(restore.err()).isZero();
        assertThat(LogicalSupport.proof(c, OTHER).combined()).isEqualTo(LogicalSupport.proof(c, NAME).combined());
    }

    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
