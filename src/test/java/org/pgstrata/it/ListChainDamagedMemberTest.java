package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * list --json on a chain full > incr > incr whose middle manifest is damaged: the newest incr's
 * chain must still name the damaged backup it reads, not shrink to the incr alone, which reads to
 * a script as a backup that restores by itself.
 */
class ListChainDamagedMemberTest extends PgTest {
    @Test
    void aDamagedMemberInTheMiddle_stillHeadsTheChainOfTheBackupsBuiltOnIt() throws Exception {
        LocalCluster a = pg.start("a", 17);
        Path repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, n int)", "INSERT INTO t SELECT i, 0 FROM generate_series(1, 1000) i");
        String full = CliBackups.backupId(repo, a, "full");
        PgSupport.sql(a, "UPDATE t SET n = 1 WHERE id < 100");
        String incr1 = CliBackups.backupId(repo, a, "incr");
        PgSupport.sql(a, "UPDATE t SET n = 2 WHERE id < 200");
        String incr2 = CliBackups.backupId(repo, a, "incr");
        try (RandomAccessFile f = new RandomAccessFile(repo.resolve("backup").resolve(incr1).resolve("manifest").toFile(), "rw")) {
            f.seek(100);
            f.write("garbage".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }

        Map<String, JsonNode> byId = new HashMap<>();
        for (JsonNode b : CliBackups.run("list", "--json", "--repo", repo.toString())) {
            byId.put(b.get("id").asText(), b);
        }
        assertThat(byId.get(incr1).get("status").asText()).isEqualTo("damaged");
        List<String> chain = new java.util.ArrayList<>();
        byId.get(incr2).get("chain").forEach(c -> chain.add(c.asText()));
        assertThat(chain).as("the chain of %s", incr2).containsExactly(incr1, incr2);
        assertThat(byId.get(full).get("chain").get(0).asText()).isEqualTo(full);
    }
}
