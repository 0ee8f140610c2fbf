package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * An incremental of a PostgreSQL 15 or 16 server said "reading the WAL summaries LSN .. LSN",
 * which such a server does not keep, before it said that it compares every block because there
 * are none. It says only the latter now; on 17 with summaries on, it still reads them.
 */
class IncrementalBeforeSummariesTest extends PgTest {

    @Test
    void anIncrementalOfPostgres15_doesNotSayItReadsWalSummaries() throws Exception {
        LocalCluster src = pg.start("src", 15);
        PgSupport.sql(src, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        java.nio.file.Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "UPDATE t SET id = id + 1 WHERE id % 10 = 0");
        ChildCli.Finished incr = ChildCli.run(Map.of(), List.of(), 120, "backup", "--repo", repo.toString(), "--pgdata",
                src.pgdata().toString(), "--port", CliBackups.port(src), "--type", "incr");
        assertThat(incr.exitCode()).as(incr.output()).isZero();
        assertThat(incr.output()).doesNotContain("reading the WAL summaries")
                .contains("'s block map: PostgreSQL 15 keeps no WAL summaries (17 and later do)");
    }
}
