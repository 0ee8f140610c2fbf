package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * --retain-days promises that every moment of the window restores, on every timeline: after a
 * point-in-time restore to a point before the newest old backup, and a promotion that archives
 * into the same repository, the moments of the new timeline are reachable only from a backup on
 * its way (one that stopped before the branch), not from the newest backup before the window,
 * which lies on the abandoned timeline past the branch.
 */
class ExpireTimelineTest extends PgTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);

    @Test
    void retainDays_keepsTheBackupANewTimelineInTheWindowRestoresFrom() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archivingBooks("a", repo, 3_000, 1_000);
        BackupResult old = backup(repo, a, 20);
        f.restorePoint(PgSupport.conn(a), "fork", true);
        try (Connection c = PgSupport.connect(a)) {
            Books.mutate(c, 0, 0, 1_000, 3); // the mistake, after the fork point
        }
        BackupResult afterMistake = backup(repo, a, 10); // starts past the fork: not on the new timeline's way
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(a);
        a.stop();

        // Back to before the mistake, promoted: timeline 2, archiving into the same repository, today.
        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        ContentChecksum.Result onTimeline2;
        try (Connection c = PgSupport.connect(b)) {
            Books.mutate(c, 500, 0, 0, 4);
            onTimeline2 = ContentChecksum.compute(c);
        }
        f.restorePoint(PgSupport.conn(b), "today", true);
        PitrTest.waitForArchive(b);
        b.stop();

        // A moment of today on timeline 2: only the old backup, which ended before the fork, reaches it.
        // The newest backup lies on the timeline the cluster left: the newest on the way to timeline 2 stays with it.
        JsonNode full = JSON.readTree(expire(repo, "--retain-full", "1", "--dry-run").out());
        assertThat(ExpireTest.ids(full.get("kept"))).as("kept by --retain-full 1").contains(old.id(), afterMistake.id());
        JsonNode dry = JSON.readTree(expire(repo, "--retain-days", "7", "--dry-run").out());
        assertThat(ExpireTest.ids(dry.get("kept"))).as("kept").contains(old.id(), afterMistake.id());
        CliRun real = expire(repo, "--retain-days", "7");
        assertThat(ExpireTest.ids(JSON.readTree(real.out()).get("kept"))).contains(old.id(), afterMistake.id());

        RestoreResult today = f.restore(new RestoreRequest(repo.toString(), dir.resolve("c"), null, true, LocalCluster.freePort(), null, 2,
                new RecoveryTarget(RecoveryTarget.Type.NAME, "today", true, "latest", "promote")));
        LocalCluster c = pg.trackRestored(today.target(), 17);
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(onTimeline2);
        }
        c.stopImmediately();
    }

    private static CliRun expire(Path repo, String... args) {
        java.util.List<String> all = new java.util.ArrayList<>(java.util.List.of("expire", "--repo", repo.toString(), "--json", "-q"));
        all.addAll(java.util.List.of(args));
        CliRun r = CliRun.run(all.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return r;
    }

    /** A full backup with the clock set {@code daysAgo} days back. */
    private BackupResult backup(Path repo, LocalCluster src, int daysAgo) {
        Pgstrata at = new Pgstrata(Clock.fixed(now.minus(Duration.ofDays(daysAgo)), ZoneOffset.UTC), Progress.NONE, PgSupport.env());
        return at.backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
