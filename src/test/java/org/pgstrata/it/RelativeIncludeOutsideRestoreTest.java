package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.db.LocalCluster;

/**
 * postgresql.conf includes a file by a relative path that leads out of the configuration
 * directory ('../shared.conf'), as PostgreSQL resolves it against the including file's directory.
 * The backup must carry what the server reads, and the restored copy start with the same setting,
 * also where the source's file has changed or is gone (compare AbsoluteIncludeRestoreTest).
 */
class RelativeIncludeOutsideRestoreTest extends PgTest {
    @Test
    void aRelativeIncludeLeadingOutOfTheDataDirectory_isReadFromTheRestoredCopy() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path shared = source.pgdata().toAbsolutePath().getParent().resolve("shared.conf");
        Files.writeString(shared, "work_mem = '7MB'\n");
        Path sharedDir = Files.createDirectories(shared.resolveSibling("shared.d"));
        Files.writeString(sharedDir.resolve("mem.conf"), "maintenance_work_mem = '77MB'\n");
        Files.writeString(source.pgdata().resolve("postgresql.conf"), "\ninclude '../shared.conf'\ninclude_dir '../shared.d'\n",
                StandardOpenOption.APPEND);
        PgSupport.sql(source, "SELECT pg_reload_conf()");
        assertThat(PgSupport.queryString(source, "SHOW work_mem")).isEqualTo("7MB");
        PgSupport.sql(source, "CREATE TABLE t (id int primary key)", "INSERT INTO t SELECT generate_series(1, 100)");
        BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);

        // After the backup, the source's file changes (the restored copy lies elsewhere: its '../shared.conf' is another file)
        Files.writeString(shared, "work_mem = '9MB'\n");
        Files.writeString(sharedDir.resolve("mem.conf"), "maintenance_work_mem = '99MB'\n");

        LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored-copies/restored", 17);
        assertThat(PgSupport.queryString(restored, "SHOW work_mem")).as("the setting the source had at the backup").isEqualTo("7MB");
        assertThat(PgSupport.queryString(restored, "SHOW maintenance_work_mem")).as("the backup's include_dir").isEqualTo("77MB");
        restored.stop();
        Files.delete(shared);
        PgSupport.deleteTree(sharedDir);
        restored.start();
        assertThat(PgSupport.queryString(restored, "SHOW work_mem")).isEqualTo("7MB");
        assertThat(PgSupport.queryString(restored, "SHOW maintenance_work_mem")).isEqualTo("77MB");
    }
}
