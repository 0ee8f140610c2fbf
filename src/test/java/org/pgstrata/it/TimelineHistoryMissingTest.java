package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * An archive that holds a timeline's segments but not its history file (lost, or removed by hand):
 * the restore to that timeline is refused, as before, but it said "no backup lies on the way to
 * timeline 2", which sent the user looking for a backup; the missing file is what to put back.
 */
class TimelineHistoryMissingTest extends PgTest {

    @Test
    void restoreToATimelineWithoutItsHistory_namesTheMissingFile() throws Exception {
        Pgstrata f = PgSupport.facade();
        Path repo = repositoryWithTimeline2(pg, dir);
        try (Stream<Path> all = Files.walk(repo)) {
            for (Path p : all.filter(p -> p.getFileName().toString().startsWith("00000002.history")).toList()) {
                Files.delete(p);
            }
        }

        assertThatThrownBy(() -> f.restore(new RestoreRequest(repo.toString(), dir.resolve("r"), null, false, null, null, 2,
                new RecoveryTarget(RecoveryTarget.Type.LATEST, null, true, "2", "promote"))))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("00000002.history")
                .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(ErrorCode.WAL_MISSING));
        assertThat(dir.resolve("r")).doesNotExist();
    }

    /**
     * A repository (DIR/repo) with one full backup on timeline 1 and the archived WAL of timeline
     * 2, which a copy restored to a restore point before it and promoted wrote; both servers stopped.
     */
    static Path repositoryWithTimeline2(PgSupport pg, Path dir) throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster a = pg.archiving("a", repo);
        try (Connection c = PgSupport.connect(a)) {
            Db.execute(c, "CREATE TABLE t (id int)");
        }
        PgSupport.fullBackup(repo, a);
        PgSupport.facade().restorePoint(PgSupport.conn(a), "fork", true);
        PitrTest.waitForArchive(a);
        a.stop();
        LocalCluster b = pg.forkedAt(repo, "fork", dir.resolve("b"));
        try (Connection c = PgSupport.connect(b)) {
            Db.execute(c, "INSERT INTO t VALUES (2)");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(b);
        b.stop();
        return repo;
    }
}
