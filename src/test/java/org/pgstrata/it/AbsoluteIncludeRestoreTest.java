package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.db.LocalCluster;

/**
 * postgresql.conf includes a file by its absolute path outside the data directory. The backup stores that file; the
 * restored server must read the backup's copy, not the source's live file (changed since, or absent on another host).
 */
class AbsoluteIncludeRestoreTest extends PgTest {
    @Test
    void anAbsoluteIncludeOutsideTheDataDirectory_isReadFromTheRestoredCopy() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path extra = Files.createDirectories(dir.resolve("shared-conf")).resolve("extra.conf");
        Files.writeString(extra, "work_mem = '7MB'\n");
        Path confd = Files.createDirectories(dir.resolve("shared-conf.d"));
        Files.writeString(confd.resolve("mem.conf"), "maintenance_work_mem = '77MB'\n");
        Files.writeString(source.pgdata().resolve("postgresql.conf"), "\ninclude '" + extra + "'\ninclude_dir '" + confd + "'\n",
                StandardOpenOption.APPEND);
        PgSupport.sql(source, "SELECT pg_reload_conf()");
        assertThat(PgSupport.queryString(source, "SHOW work_mem")).isEqualTo("7MB");
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        var expected = ClusterContent.of(source);
        BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);

        // After the backup, the source's file changes (or, on another host, is not there at all).
        Files.writeString(extra, "work_mem = '9MB'\n");
        Files.writeString(confd.resolve("mem.conf"), "maintenance_work_mem = '99MB'\n");

        LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored", 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(expected);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
        assertThat(PgSupport.queryString(restored, "SHOW work_mem")).as("the backup's include, not the source's live file").isEqualTo("7MB");
        assertThat(PgSupport.queryString(restored, "SHOW maintenance_work_mem")).as("the backup's include_dir").isEqualTo("77MB");
        restored.stop();

        // And with the source's file gone, the restored copy still starts on the backup's own copy.
        Files.delete(extra);
        PgSupport.deleteTree(confd);
        restored.start();
        assertThat(PgSupport.queryString(restored, "SHOW work_mem")).isEqualTo("7MB");
        assertThat(PgSupport.queryString(restored, "SHOW maintenance_work_mem")).isEqualTo("77MB");
    }
}
