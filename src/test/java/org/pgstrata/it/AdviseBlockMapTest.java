package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * Every physical backup stores its block map (8 bytes per 8 KiB of data, 0.1%), and counts it in
 * its repositoryBytes. advise left it out of the next incremental's prediction, documented as that
 * incremental's repositoryBytes, and out of every strategy's bytes: on a quiet cluster it
 * predicted a twentieth of what the incremental then stored (on 1 TiB of data with a small daily
 * change, a gibibyte a day too few). The prediction now counts it, as a full's does.
 */
class AdviseBlockMapTest extends PgTest {
    @Test
    void onAQuietCluster_theNextIncrementalIsPredictedWithItsBlockMap() throws Exception {
        LocalCluster src = pg.start("src", 17);
        PgSupport.sql(src, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 30_000, 10_000, 1, Progress.NONE);
            Books.settle(c, Progress.NONE);
        }
        Path repo = dir.resolve("repo");
        PgSupport.fullBackup(repo, src);

        Advice advice = PgSupport.facade().advise(new AdviseRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), true, 2, dir, 0.3));
        BackupResult incr = PgSupport.facade().backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src), BackupType.INCR,
                Compression.ZSTD, 2, 0));
        long predicted = advice.change().predictedIncrementalBytes();
        assertThat((double) predicted).as("predicted %d B, the incremental stored %d B", predicted, incr.repositoryBytes())
                .isBetween(0.8 * incr.repositoryBytes(), 1.2 * incr.repositoryBytes());
    }
}
