package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * expire removes what a killed backup left (a directory of objects without a manifest) along
 * with the backups no rule keeps. Its dry run, which "prints the same lines", said "would remove
 * 0 backup(s)"; the real run then deleted that directory and reported nothing of it, in text or
 * JSON: the dry run did not name what the real run removed. Both now name it.
 */
class ExpireDryRunNamesLeftoversTest extends PgTest {

    @Test
    void whatAKilledBackupLeft_isNamedByTheDryRunAndByTheRun() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g");
        Path repo = dir.resolve("repo");
        String kept = CliBackups.backupId(repo, source, "full");
        ChildCli.Finished killed = ChildCli.run(Map.of("PGSTRATA_TEST_HALT_AT", "full-objects"), List.of(), 120,
                "backup", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source), "--type", "full");
        assertThat(killed.exitCode()).as(killed.output()).isEqualTo(137);
        String left;
        try (Stream<Path> dirs = Files.list(repo.resolve("backup"))) {
            left = dirs.map(p -> p.getFileName().toString()).filter(id -> !id.equals(kept)).findFirst().orElseThrow();
        }

        String[] expire = {"expire", "--repo", repo.toString(), "--retain-full", "1"};
        JsonNode dry = CliBackups.run(concat(expire, "--dry-run", "--json"));
        assertThat(dry.get("leftovers")).as("dry run: %s", dry).isNotNull();
        assertThat(dry.get("leftovers")).extracting(JsonNode::asText).containsExactly(left);
        assertThat(CliBackups.ok(concat(expire, "--dry-run")).out()).contains("would remove what a killed backup or an interrupted removal left of backup " + left);
        assertThat(repo.resolve("backup").resolve(left)).as("a dry run changes nothing").isDirectory();

        JsonNode real = CliBackups.run(concat(expire, "--json", "-q"));
        assertThat(real.get("leftovers").toString()).isEqualTo(dry.get("leftovers").toString());
        assertThat(real.get("removed")).isEmpty();
        assertThat(repo.resolve("backup").resolve(left)).doesNotExist();
        assertThat(repo.resolve("backup").resolve(kept)).isDirectory();
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
