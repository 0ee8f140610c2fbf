package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * A segment lost from the archive after the oldest backup, before a newer one: info shows the
 * window going on past the gap (a newer backup replays the archive from its own start), and
 * restore --target latest and --target-lsn reach it. A time, a transaction or a restore point
 * after the gap was looked up in the WAL from the oldest backup on, the search stopped at the gap,
 * and restore refused every such target ("missing from the archive, between backup OLDEST and
 * ..."), though the newer backup reaches it. The search now goes on from the backups after a gap.
 */
class RestoreTargetPastGapTest extends PgTest {

    @Test
    void aTimeOrNameAfterAGap_restoresFromTheBackupAfterIt() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)");
        String lost = PgSupport.queryString(src, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        PgSupport.sql(src, "SELECT pg_switch_wal()");
        String newer = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (3)");
        CliBackups.ok("restore-point", "after-gap", "--port", CliBackups.port(src));
        Thread.sleep(20);
        String between = PgSupport.queryString(src, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        Thread.sleep(20);
        PgSupport.sql(src, "INSERT INTO marks VALUES (4)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            Files.delete(s.filter(p -> p.getFileName().toString().equals(lost)).findFirst().orElseThrow());
        }

        CliBackups.Restored byTime = CliBackups.restore(pg, repo, dir.resolve("time"), 17, "--target-time", between);
        assertThat(byTime.result().get("backupId").asText()).isEqualTo(newer);
        assertThat(PgSupport.queryString(byTime.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2,3");
        byTime.cluster().stopImmediately();

        CliBackups.Restored byName = CliBackups.restore(pg, repo, dir.resolve("name"), 17, "--target-name", "after-gap");
        assertThat(byName.result().get("backupId").asText()).isEqualTo(newer);
        assertThat(PgSupport.queryString(byName.cluster(), "SELECT string_agg(n::text, ',' ORDER BY n) FROM marks")).isEqualTo("1,2,3");
    }
}
