package org.pgstrata.it;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A test with its own directory and real servers, all stopped when it ends. */
abstract class PgTest {
    @TempDir
    Path dir;
    PgSupport pg;

    @BeforeEach
    void startSupport() {
        pg = new PgSupport(dir);
    }

    @AfterEach
    void stopServers() {
        pg.close();
    }
}
