package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * A standby promoted while a backup reads its files: PostgreSQL refuses to stop that backup (the
 * files may mix the states before and after). The backup says that in one line, with what to do,
 * and keeps nothing.
 */
class StandbyPromotedTest extends PgTest {

    @Test
    void aStandbyPromotedMidBackup_failsSayingWhy_andKeepsNothing() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster primary = pg.start("primary", 17);
        try (Connection c = PgSupport.connect(primary)) {
            Books.init(c);
            Books.populate(c, 5_000, 5_000, 1, Progress.NONE);
        }
        LocalCluster standby = StandbyBackupTest.standbyOf(pg, primary, dir.resolve("standby"));
        PgSupport.sql(primary, "CHECKPOINT");
        Progress promoteWhenCopying = RecordingProgress.atStep(description -> {
            if (description.startsWith("copying ")) {
                PgSupport.sql(standby, "SELECT pg_promote(true)");
            }
        });
        assertThatThrownBy(() -> new Pgstrata(Clock.systemUTC(), promoteWhenCopying, PgSupport.env()).backup(new BackupRequest(repo.toString(),
                standby.pgdata(), PgSupport.conn(standby), BackupType.FULL, Compression.ZSTD, 2, 0, 15)))
                .isInstanceOf(PgstrataException.class)
                .hasMessageContaining("the standby was promoted while the backup read its files")
                .satisfies(e -> assertThat(((PgstrataException) e).hint()).contains("run the backup again"))
                .satisfies(e -> assertThat(((PgstrataException) e).oneLine().lines()).hasSize(1))
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.SERVER);
        assertThat(PgSupport.facade().list(repo.toString())).isEmpty();
    }
}
