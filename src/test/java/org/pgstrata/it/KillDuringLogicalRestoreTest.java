package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A logical restore killed with SIGKILL leaves its temporary database and its decompressed dump;
 * the next logical restore names and removes both (their owner is provably gone) and restores.
 */
class KillDuringLogicalRestoreTest extends PgTest {

    @Test
    void logicalRestoreKilled_nextRestoreRemovesItsDatabaseAndDump() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        PgSupport.sql(source, "CREATE DATABASE shop");
        ContentChecksum.Result content;
        try (Connection c = Db.connect(LogicalSupport.conn(source, "shop"))) {
            Books.init(c);
            Books.populate(c, 5_000, 5_000, 3, Progress.NONE);
            content = ContentChecksum.compute(c);
        }
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();

        // A restore in another JVM, paused once its temporary database exists and its dump is decompressed, then killed.
        Process child = ChildCli.start(Map.of("PGSTRATA_TEST_PAUSE_AT", "logical-restore-temporary-database"), List.of("-Djava.io.tmpdir=" + tmp),
                "restore", "--logical", "--repo", repo.toString(), "--backup", id, "--port", CliBackups.port(source), "--to-db", "killed");
        try {
            ChildCli.awaitLine(child, "test hook: pausing", 120);
        } finally {
            ChildCli.kill(child);
        }
        assertThat(child.exitValue()).isEqualTo(137);
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isEqualTo(1);
        assertThat(dumps(tmp)).hasSize(1);

        // verify names the dump; the next restore (this JVM, the same temporary directory) removes both and says so.
        String tmpBefore = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
        JsonNode r;
        try {
            org.pgstrata.cli.CliRun verify = org.pgstrata.cli.CliRun.run("verify", "--repo", repo.toString());
            assertThat(verify.exitCode()).as(verify.err()).isZero();
            assertThat(verify.err()).contains("an interrupted logical restore left " + dumps(tmp).get(0));
            r = CliBackups.logicalRestore(repo, source, id, "restored");
        } finally {
            System.setProperty("java.io.tmpdir", tmpBefore);
        }
        List<String> warnings = new ArrayList<>();
        r.get("warnings").forEach(w -> warnings.add(w.asText()));
        assertThat(warnings).anyMatch(w -> w.startsWith("removed database pgstrata_restore_" + child.pid() + "_")
                && w.contains("left by an interrupted logical restore"));
        assertThat(warnings).anyMatch(w -> w.startsWith("removed " + tmp.resolve("pgstrata-logical-restore-" + child.pid() + "_")));
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
        assertThat(dumps(tmp)).isEmpty();
        assertThat(LogicalSupport.proof(source, "restored")).isEqualTo(content);
    }

    private static List<Path> dumps(Path tmp) throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> p.getFileName().toString().startsWith("pgstrata-logical-restore-")).toList();
        }
    }
}
