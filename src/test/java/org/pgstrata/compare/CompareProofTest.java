package org.pgstrata.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.it.PgSupport;

/**
 * compare's proof, on one real server: it holds for the content it was computed on, and fails for
 * every kind of difference a damaged restore could show while the row count stays the same.
 */
class CompareProofTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster c;
    static ConnectionSettings conn;

    @BeforeAll
    static void start() throws Exception {
        pg = new PgSupport(dir);
        c = pg.start("pg", 17);
        conn = PgSupport.conn(c);
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    private static void sql(String... statements) throws Exception {
        try (Connection k = Db.connect(conn)) {
            for (String s : statements) {
                Db.execute(k, s);
            }
        }
    }

    private static ContentChecksum.Result content() throws Exception {
        try (Connection k = Db.connect(conn)) {
            return ContentChecksum.compute(k);
        }
    }

    /** The proof of the content now against {@code expected}, after {@code change}, then undone by {@code undo}. */
    private static String proofAfter(ContentChecksum.Result expected, String change, String undo) throws Exception {
        sql(change);
        try {
            return Compare.prove(conn, expected);
        } finally {
            sql(undo);
        }
    }

    @Test
    void theProof_failsForEveryDifference_andHoldsForTheSameContent() throws Exception {
        sql("DROP TABLE IF EXISTS books, loose", "CREATE TABLE books (id int PRIMARY KEY, title text, price numeric, note text)",
                "INSERT INTO books SELECT g, 'title ' || g, g * 1.5, CASE WHEN g % 3 = 0 THEN NULL ELSE '' END FROM generate_series(1, 2000) g",
                "CREATE TABLE loose (v text)", "INSERT INTO loose VALUES ('a'), ('a'), ('b')");
        ContentChecksum.Result expected = content();
        assertThat(Compare.prove(conn, expected)).as("the same content").isNull();

        assertThat(proofAfter(expected, "UPDATE books SET title = 'x' WHERE id = 1000", "UPDATE books SET title = 'title 1000' WHERE id = 1000"))
                .as("one value changed").startsWith("content differs");
        assertThat(proofAfter(expected, "UPDATE books SET id = -id WHERE id IN (1, 2)", "UPDATE books SET id = -id WHERE id IN (-1, -2)"))
                .as("keys changed, rows kept").startsWith("content differs");
        assertThat(proofAfter(expected, "UPDATE books SET note = '' WHERE id = 3", "UPDATE books SET note = NULL WHERE id = 3"))
                .as("NULL became an empty string").startsWith("content differs");
        assertThat(proofAfter(expected, "UPDATE books SET price = 1.50 WHERE id = 1", "UPDATE books SET price = 1.5 WHERE id = 1"))
                .as("the same number at another scale").startsWith("content differs");
        assertThat(proofAfter(expected, "UPDATE loose SET v = 'b' WHERE ctid = (SELECT min(ctid) FROM loose WHERE v = 'a')",
                "UPDATE loose SET v = 'a' WHERE ctid = (SELECT min(ctid) FROM loose WHERE v = 'b')"))
                .as("a duplicate row of a table without a key changed, the count kept").startsWith("content differs");
        assertThat(proofAfter(expected, "CREATE TABLE extra (i int)", "DROP TABLE extra")).as("an empty table more").startsWith("content differs");
        assertThat(Compare.prove(conn, expected)).as("the same content again").isNull();
    }
}
