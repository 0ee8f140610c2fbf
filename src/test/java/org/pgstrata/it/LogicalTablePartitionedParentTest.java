package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * restore --logical --table of a partitioned table's parent: the backup lists its partitions,
 * which hold the rows, not the parent. It said only "has no table events", which reads as if
 * the table had not been backed up; it now says to name a partition, and lists them.
 */
class LogicalTablePartitionedParentTest extends PgTest {

    @Test
    void theParentOfPartitions_isRefusedWithAHintToNameAPartition() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE DATABASE shop");
        LogicalSupport.sql(server, "shop", "CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                "INSERT INTO events SELECT g, date '2025-06-01' + g FROM generate_series(1, 400) g");
        String full = CliBackups.logicalBackup(repo, server, "shop", "full").get("id").asText();

        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", full, "--port", CliBackups.port(server),
                "--to-db", "copy", "--create", "--table", "events");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(17);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("has no table events").contains("public.events_2025").contains("public.events_2026")
                .contains("a partitioned table is listed by its partitions");
    }
}
