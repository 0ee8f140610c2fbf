package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.db.LocalCluster;

/**
 * A cluster that archives into its repository, one backup, and no transaction archived after it:
 * the WAL rate is unknown. advise told the user to archive WAL into the repository (pgstrata wal
 * setup), which the server already does; it now says to wait for the segment being written.
 */
class AdviseArchiveNotYetTest extends PgTest {
    @Test
    void withAnArchiveButNothingArchivedAfterTheBackup_itDoesNotAskForAnArchive() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.archiving("pg", repo);
        PgSupport.sql(c, "CREATE TABLE t (id int PRIMARY KEY, b text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        PgSupport.fullBackup(repo, c);
        PgSupport.sql(c, "UPDATE t SET b = b || 'x' WHERE id % 10 = 0");
        Advice advice = PgSupport.facade().advise(new AdviseRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), true, 2, dir, 0.3));
        assertThat(advice.wal().known()).isFalse();
        assertThat(advice.wal().detail()).contains("the WAL archive holds no transaction after backup").doesNotContain("wal setup")
                .contains("archive_timeout");
    }
}
