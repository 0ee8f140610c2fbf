package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.Repository;
import org.pgstrata.restore.PhysicalRestore;

/**
 * A wall clock set back between two backups (NTP stepping a clock that ran fast, a VM resumed
 * from a snapshot) gives the newer backup the earlier stop time. The newer one, by its position in
 * the WAL, is the one a restore without a target picks: expire --retain-full 1 must keep it.
 */
class ExpireClockStepBackTest extends PgTest {

    @Test
    void retainFull_keepsTheNewestFullWhenTheClockWentBackBetweenBackups() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        BackupResult first = backup(repo, a, Clock.systemUTC());
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE later (id int PRIMARY KEY)");
            Db.execute(c, "INSERT INTO later SELECT generate_series(1, 100)");
        }
        // The clock stepped back an hour: the second full stopped "before" the first
        BackupResult second = backup(repo, a, Clock.offset(Clock.systemUTC(), Duration.ofHours(-1)));

        Pgstrata f = PgSupport.facade();
        // What a restore without a target picks now: the newest backup
        try (Repository r = Repository.open(repo.toString())) {
            assertThat(PhysicalRestore.chosenBackup(r, RecoveryTarget.IMMEDIATE, null).id()).isEqualTo(second.id());
        }

        ExpireResult r = f.expire(new ExpireRequest(repo.toString(), 1, null, null, false));
        assertThat(r.kept().stream().map(ExpireResult.Backup::id)).as("kept by --retain-full 1").contains(second.id());
        assertThat(r.removed().stream().map(ExpireResult.Backup::id)).doesNotContain(second.id());
    }

    private static BackupResult backup(Path repo, LocalCluster src, Clock clock) {
        return new Pgstrata(clock, Progress.NONE, PgSupport.env()).backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src),
                BackupType.FULL, Compression.ZSTD, 2, 0));
    }
}
