package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.drill.Drill;

/**
 * A backup deleted (or expired) while its drill checks the restored copy: the drill cannot record
 * its result, so it must not end as a pass that says it was recorded; it is an error (not found),
 * and nothing is left in the repository or the scratch area.
 */
class DrillBackupRemovedMidwayTest extends PgTest {
    @Test
    void aBackupDeletedDuringItsDrill_endsInNotFound_notInARecordedPass() throws Exception {
        LocalCluster a = pg.start("a", 17);
        PgSupport.sql(a, "CREATE TABLE t (id int PRIMARY KEY, note text)", "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 1000) i");
        Path repo = dir.resolve("repo");
        String id = PgSupport.fullBackup(repo, a).id();
        Path scratch = dir.resolve("scratch");

        // The delete runs when the drill's checks begin: the copy is restored and running, nothing is recorded yet.
        AtomicBoolean deleted = new AtomicBoolean();
        Progress deleteAtChecks = RecordingProgress.atStep(description -> {
            if (description.startsWith("drill: database") && deleted.compareAndSet(false, true)) {
                PgSupport.facade().delete(repo.toString(), id, false);
            }
        });
        Drill.Request req = new Drill.Request(repo.toString(), id, null, scratch, null, 2, Duration.ofSeconds(120), List.of());
        assertThatThrownBy(() -> new Pgstrata(java.time.Clock.systemUTC(), deleteAtChecks, PgSupport.env()).drill(req))
                .isInstanceOfSatisfying(PgstrataException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
                    assertThat(e.getMessage()).contains("backup " + id + " was removed (by delete or expire) while the drill ran")
                            .contains("not recorded");
                });
        assertThat(deleted).isTrue();
        assertThat(repo.resolve("drill").resolve(id)).doesNotExist();
        assertThat(PgSupport.facade().list(repo.toString())).isEmpty();
        try (var left = java.nio.file.Files.list(scratch)) {
            assertThat(left.toList()).as("the scratch copy is removed").isEmpty();
        }
    }
}
