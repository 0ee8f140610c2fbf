package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.drill.Health;

/**
 * A wall clock that ran an hour fast and was then set right (NTP) between two backups gives the
 * newer backup the earlier stop time. status must still call the newer one, the one a restore
 * picks, the newest, and judge the repository's backup age by it: not by a stop time an hour in
 * the future, which makes it warn that a clock is wrong and judge no age at all.
 */
class StatusClockStepBackTest extends PgTest {

    @Test
    void newestBackupIsTheNewerOneWhenTheClockWentBackBetweenBackups() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        // The first backup was taken while the clock ran an hour fast
        backup(repo, a, Clock.offset(Clock.systemUTC(), Duration.ofHours(1)));
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE later (id int PRIMARY KEY)");
            Db.execute(c, "INSERT INTO later SELECT generate_series(1, 100)");
        }
        // Then the clock was set right: the second backup stopped "before" the first
        BackupResult second = backup(repo, a, Clock.systemUTC());

        Health.Result r = PgSupport.facade().status(repo.toString(), new Health.Limits(Duration.ofHours(26), Duration.ZERO, Duration.ofHours(1)));
        assertThat(r.newestBackup().id()).as("the newest backup").isEqualTo(second.id());
        Health.Check age = r.checks().stream().filter(c -> c.name().equals("backup-age")).findFirst().orElseThrow();
        assertThat(age.severity()).as(age.message()).isEqualTo(Health.Severity.OK);
        assertThat(age.message()).contains(second.id());
        assertThat(r.status()).as(String.valueOf(r.checks())).isEqualTo(Health.Status.OK);
    }

    private static BackupResult backup(Path repo, LocalCluster src, Clock clock) {
        return new Pgstrata(clock, Progress.NONE, PgSupport.env()).backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src),
                BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
