package org.pgstrata.it;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * An xml column holds documents or content fragments ("a<b/>c": text around elements, several
 * top-level elements), and xmloption says which of the two a session's input must be. A server
 * with xmloption = document in postgresql.conf stored fragments that an application wrote under
 * SET xmloption = content; pg_restore sets content for itself, but the restore of a logical
 * differential copied the changed rows in pgstrata's own session, under the server's document:
 * exit 19, "the logical restore failed: ERROR: invalid XML document", after the target was half
 * made. The restore's session reads rows under content, which accepts every xml value.
 */
class LogicalXmlOptionDocumentTest extends PgTest {
    @Test
    void xmlFragments_onAServerWithXmloptionDocument_restoreFromADifferential() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE TABLE x (id int PRIMARY KEY, doc xml)",
                "INSERT INTO x SELECT g, XMLPARSE(CONTENT 'a<b>' || g || '</b>c<d/>') FROM generate_series(1, 300) g",
                "ALTER SYSTEM SET xmloption = document", "SELECT pg_reload_conf()");
        LogicalSupport.roundTripUnder(server, repo, "xmloption", "document", "x", "SET xmloption = content",
                "UPDATE x SET doc = XMLPARSE(CONTENT 'z<e/>' || id || '<f/>') WHERE id % 7 = 0", "DELETE FROM x WHERE id % 11 = 0",
                "INSERT INTO x SELECT g, XMLPARSE(CONTENT 'new<g/>') FROM generate_series(301, 320) g");
    }
}
