package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.db.LocalCluster;

/**
 * Links that a user left in the data directory: PostgreSQL's own base backup follows only pg_wal and the tablespace links,
 * and so must a backup here, or a link back into the data directory fails every backup and a link elsewhere copies
 * whatever it points at.
 */
class DataDirectoryLinkTest extends PgTest {
    @Test
    void linksToDirectories_inTheDataDirectory_areLeftOut_andTheBackupRestores() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        var expected = ClusterContent.of(source);
        Files.createSymbolicLink(source.pgdata().resolve("loop"), source.pgdata()); // a link back into the data directory
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("not-postgres"), "x".repeat(1000));
        Files.createSymbolicLink(source.pgdata().resolve("base").resolve("elsewhere"), outside);
        // A directory that the backup keeps empty, on tmpfs as some keep it: restored as the empty directory, as PostgreSQL's does.
        Path tmpfs = Files.createDirectories(dir.resolve("stat-tmp"));
        Files.writeString(tmpfs.resolve("stale"), "x");
        source.stop();
        PgSupport.deleteTree(source.pgdata().resolve("pg_stat_tmp"));
        Files.createSymbolicLink(source.pgdata().resolve("pg_stat_tmp"), tmpfs);
        source.start();

        BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);

        LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored", 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(expected);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
        assertThat(restored.pgdata().resolve("loop")).doesNotExist();
        assertThat(Files.exists(restored.pgdata().resolve("base/elsewhere"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.readString(outside.resolve("not-postgres"))).hasSize(1000);
        assertThat(restored.pgdata().resolve("pg_stat_tmp")).isEmptyDirectory();
    }
}
