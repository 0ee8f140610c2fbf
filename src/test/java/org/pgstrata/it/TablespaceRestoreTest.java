package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster with a tablespace outside its data directory. A restore puts the tablespace inside
 * the copy, as a directory in pg_tblspc (the source may run on the same machine, at the same
 * path), which PostgreSQL accepts only with allow_in_place_tablespaces.
 */
class TablespaceRestoreTest extends PgTest {

    @Test
    void fullAndIncremental_ofAClusterWithATablespace_restoreWithTheTablespaceInside() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path location = Files.createDirectory(dir.resolve("elsewhere"));
        String oid;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE TABLESPACE elsewhere LOCATION '" + location + "'");
            Db.execute(c, "CREATE TABLE t (id int PRIMARY KEY, v text) TABLESPACE elsewhere");
            Db.execute(c, "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
            oid = Db.queryString(c, "SELECT oid FROM pg_tablespace WHERE spcname = 'elsewhere'");
        }
        BackupResult full = backup(source, BackupType.FULL);
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);
        PgSupport.sql(source, "UPDATE t SET v = 'changed' WHERE id % 100 = 0", "CREATE DATABASE d TABLESPACE elsewhere");
        BackupResult incr = backup(source, BackupType.INCR);
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(source);

        for (var point : Map.of(full, atFull, incr, atIncr).entrySet()) {
            LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), point.getKey().id(), "restored-" + point.getKey().id(), 17);
            Path tablespace = restored.pgdata().resolve("pg_tblspc").resolve(oid);
            assertThat(Files.isDirectory(tablespace) && !Files.isSymbolicLink(tablespace)).as("%s is a directory", tablespace).isTrue();
            assertThat(ClusterContent.of(restored)).as("content of %s", point.getKey().id()).isEqualTo(point.getValue());
            assertThat(ClusterContent.amcheck(restored)).isEmpty();
            restored.stop();
        }
    }

    private BackupResult backup(LocalCluster source, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(dir.resolve("repo").toString(), source.pgdata(), PgSupport.conn(source), type,
                Compression.ZSTD, 2, 0));
    }
}
