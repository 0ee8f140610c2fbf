package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

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
        String full = CliBackups.logicalBackup(repo, server, "postgres", "full").get("id").asText();
        ContentChecksum.Result atFull = LogicalSupport.proof(server, "postgres");
        PgSupport.sql(server, "SET xmloption = content", "UPDATE x SET doc = XMLPARSE(CONTENT 'z<e/>' || id || '<f/>') WHERE id % 7 = 0",
                "DELETE FROM x WHERE id % 11 = 0", "INSERT INTO x SELECT g, XMLPARSE(CONTENT 'new<g/>') FROM generate_series(301, 320) g");
        String diff = CliBackups.logicalBackup(repo, server, "postgres", "diff").get("id").asText();
        ContentChecksum.Result atDiff = LogicalSupport.proof(server, "postgres");
        assertThat(atDiff).isNotEqualTo(atFull);
        assertThat(PgSupport.queryString(server, "SELECT reset_val FROM pg_settings WHERE name = 'xmloption'")).isEqualTo("document");

        for (Object[] restore : new Object[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", (String) restore[0], "--port",
                    CliBackups.port(server), "--to-db", (String) restore[1]);
            assertThat(r.exitCode()).as(restore[1] + ": " + r.err()).isZero();
            assertThat(LogicalSupport.proof(server, (String) restore[1])).as((String) restore[1]).isEqualTo(restore[2]);
        }
        // One table into an existing database, from the differential
        PgSupport.sql(server, "CREATE DATABASE other");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff, "--port", CliBackups.port(server),
                "--to-db", "other", "--table", "x");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(LogicalSupport.proof(server, "other")).isEqualTo(atDiff);
    }
}
