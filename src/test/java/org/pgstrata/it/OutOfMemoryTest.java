package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.LocalCluster;

/**
 * A heap too small for the command is its own one-line error (exit 46, naming the heap and how to
 * raise it), never a report of damage (ZstdFramesTest pins the frame decompressed on another
 * thread that once made restore call an intact backup "damaged", exit 15). The same restore with
 * the launchers' heap succeeds, so the failure is the heap's, not the backup's; nothing is left in
 * the target after the failure.
 */
class OutOfMemoryTest extends PgTest {
    private static final int MAJOR = 17;

    @Test
    void aHeapTooSmall_isExit46InOneLine_andTheSameRestoreWithTheDefaultHeapWorks() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        // About 40 MB of table in one relation file: ten 4 MiB frames, more than a 24 MiB heap holds in flight.
        PgSupport.sql(src, "CREATE TABLE t (id int, pad text)",
                "INSERT INTO t SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 400000) g", "CHECKPOINT");
        Path repo = dir.resolve("repo");
        String id = CliBackups.run("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(), "--port",
                CliBackups.port(src), "--type", "full").get("id").asText();

        Path target = dir.resolve("target");
        ChildCli.Finished small = ChildCli.run(Map.of(), List.of("-Xmx24m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), 300,
                "restore", "-q", "--repo", repo.toString(), "--backup", id, "--to", target.toString(), "--jobs", "2");
        assertThat(small.exitCode()).as(small.output()).isEqualTo(ErrorCode.OUT_OF_MEMORY.exitCode());
        assertThat(small.output().strip().lines()).singleElement().asString()
                .startsWith("pgstrata: error: out of memory").contains("PGSTRATA_JAVA_OPTS=-Xmx").doesNotContain("damaged");
        assertThat(target).doesNotExist();

        ChildCli.Finished enough = ChildCli.run(Map.of(), List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), 300,
                "restore", "-q", "--repo", repo.toString(), "--backup", id, "--to", target.toString(), "--jobs", "2");
        assertThat(enough.exitCode()).as(enough.output()).isZero();
        assertThat(Files.size(target.resolve(PgSupport.queryString(src, "SELECT pg_relation_filepath('t')"))))
                .isEqualTo(Files.size(src.pgdata().resolve(PgSupport.queryString(src, "SELECT pg_relation_filepath('t')"))));
    }
}
