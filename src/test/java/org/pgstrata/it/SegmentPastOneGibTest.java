package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A table past 1 GiB, so that its main fork has a second segment file ({@code NNN.1}), backed up
 * full and then incrementally after changes in both segments (updates and deletes in the
 * second, rows appended to it, updates in the first), through the command line; the incremental
 * restores with the content the source had, both segment files at the source's sizes.
 *
 * <p>The rows are cheap to make and to compress: fillfactor 10 and rows of 400 bytes put one row
 * on each page, so 135,000 rows fill 1.03 GiB (about 70 MB of WAL), and the pages are mostly
 * zeros.
 */
class SegmentPastOneGibTest extends PgTest {
    private static final int MAJOR = 18;
    private static final long SEGMENT_BLOCKS = 131_072; // 1 GiB of 8 kB blocks: PostgreSQL's default RELSEG_SIZE

    @Test
    void anIncrementalChangingPagesInTheSecondSegment_restoresBothSegments() throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        Path repo = dir.resolve("repo");
        PgSupport.sql(src, "CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 10, autovacuum_enabled = off)",
                "INSERT INTO big SELECT g, rpad(g::text, 400, '.') FROM generate_series(1, 135000) g",
                "CREATE TABLE small (id int PRIMARY KEY, v text)",
                "INSERT INTO small SELECT g, md5(g::text) FROM generate_series(1, 1000) g",
                "CHECKPOINT");
        Path file = src.pgdata().resolve(PgSupport.queryString(src, "SELECT pg_relation_filepath('big')"));
        assertThat(file.resolveSibling(file.getFileName() + ".1")).as("the second segment of big").exists();
        JsonNode full = CliBackups.backup(repo, src, "full");

        String second = "id BETWEEN 131500 AND 131600";
        PgSupport.sql(src, "UPDATE big SET pad = rpad('changed ' || id, 400, '#') WHERE " + second,
                "DELETE FROM big WHERE id BETWEEN 133000 AND 133010",
                "INSERT INTO big SELECT g, rpad(g::text, 400, '+') FROM generate_series(135001, 136000) g",
                "UPDATE big SET pad = rpad('first segment ' || id, 400, '-') WHERE id BETWEEN 10 AND 20",
                "UPDATE small SET v = 'changed' WHERE id % 10 = 0");
        assertThat(Long.parseLong(PgSupport.queryString(src, "SELECT min((ctid::text::point)[0]) FROM big WHERE " + second)))
                .as("the first block holding an updated row").isGreaterThanOrEqualTo(SEGMENT_BLOCKS);
        JsonNode incr = CliBackups.backup(repo, src, "incr");
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(src);
        long firstSize = Files.size(file);
        long secondSize = Files.size(file.resolveSibling(file.getFileName() + ".1"));

        assertThat(incr.get("type").asText()).isEqualTo("incr");
        // page deltas, not the 1 GiB segment again: far smaller than the full
        assertThat(incr.get("repositoryBytes").asLong()).as("repository bytes of the incremental (the full took %s)",
                full.get("repositoryBytes").asLong()).isLessThan(full.get("repositoryBytes").asLong() / 4);

        Path target = dir.resolve("restored");
        LocalCluster restored = CliBackups.restore(pg, repo, target, MAJOR, "--backup", incr.get("id").asText()).cluster();
        Path restoredFile = target.resolve(src.pgdata().relativize(file));
        assertThat(Files.size(restoredFile)).as("size of the first segment").isEqualTo(firstSize);
        assertThat(Files.size(restoredFile.resolveSibling(restoredFile.getFileName() + ".1"))).as("size of the second segment").isEqualTo(secondSize);
        assertThat(ClusterContent.of(restored)).as("content of the incremental's restore").isEqualTo(atIncr);
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of the incremental's restore").isEmpty();
    }
}
