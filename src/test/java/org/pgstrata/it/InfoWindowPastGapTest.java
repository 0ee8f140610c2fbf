package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.postgres.Lsn;

/**
 * A segment lost from the archive between two fulls (deleted by hand, a sync that skipped it):
 * the older full can only be recovered up to the gap, but the newer one still replays the archive
 * to its end, as {@code restore --target latest} does. {@code info} said the window ended at the
 * gap (a latest LSN before the newer full, even before the earliest LSN when the gap was in the
 * oldest backup's own WAL), telling the user that no point after it could be restored.
 */
class InfoWindowPastGapTest extends PgTest {

    @Test
    void aGapBeforeTheNewestFull_doesNotEndTheWindowThere() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        PgSupport.fullBackup(repo, src);
        String lost;
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 200, 50, 1);
            lost = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        BackupResult newest = PgSupport.fullBackup(repo, src);
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 200, 50, 2);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            Files.delete(s.filter(p -> p.getFileName().toString().equals(lost)).findFirst().orElseThrow());
        }

        List<RecoveryWindow> windows = PgSupport.facade().info(repo.toString());
        assertThat(windows).hasSize(1);
        RecoveryWindow w = windows.get(0);
        assertThat(w.gaps()).containsExactly(lost);
        assertThat(Lsn.parse(w.latestLsn()).isBefore(Lsn.parse(newest.stopLsn()))).as("latest %s, newest full stops at %s", w.latestLsn(),
                newest.stopLsn()).isFalse();
        assertThat(w.latestTime()).as("the newest archived transaction").isNotNull();
    }
}
