package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * Production servers often end idle sessions and long statements (idle_session_timeout,
 * statement_timeout, set for the backup role or the whole server). A backup's session is idle
 * while the files are copied, for hours on a large cluster: the server must not end it.
 */
class SessionTimeoutsTest extends PgTest {

    @Test
    void aRoleWithShortSessionTimeouts_backsUpAndRestores_physical() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE ROLE impatient LOGIN SUPERUSER",
                "ALTER ROLE impatient SET idle_session_timeout = '50ms'",
                "ALTER ROLE impatient SET idle_in_transaction_session_timeout = '50ms'",
                "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        ConnectionSettings own = PgSupport.conn(source);
        ConnectionSettings impatient = new ConnectionSettings(own.host(), own.port(), "impatient", own.dbname(), own.password(), own.passfile());
        Path repo = dir.resolve("repo");

        var full = PgSupport.facade().backup(new BackupRequest(repo.toString(), source.pgdata(), impatient, BackupType.FULL,
                Compression.ZSTD, 1, 0));
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);
        PgSupport.sql(source, "UPDATE t SET v = 'changed' WHERE id % 10 = 0");
        var incr = PgSupport.facade().backup(new BackupRequest(repo.toString(), source.pgdata(), impatient, BackupType.INCR,
                Compression.ZSTD, 1, 0));
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(source);
        assertThat(atIncr).isNotEqualTo(atFull);

        for (var point : Map.of(full.id(), atFull, incr.id(), atIncr).entrySet()) {
            LocalCluster restored = pg.restoreAndStart(repo, point.getKey(), "restored-" + point.getKey(), 17);
            assertThat(ClusterContent.of(restored)).as("content of %s", point.getKey()).isEqualTo(point.getValue());
            assertThat(ClusterContent.amcheck(restored)).isEmpty();
            restored.stop();
        }
    }

    /** A logical full and differential hold a snapshot's transaction open while pg_dump and the row reads run. */
    @Test
    void aRoleWithShortSessionTimeouts_backsUpAndRestores_logical() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE ROLE impatient LOGIN SUPERUSER",
                "ALTER ROLE impatient SET idle_session_timeout = '50ms'",
                "ALTER ROLE impatient SET idle_in_transaction_session_timeout = '50ms'",
                "ALTER ROLE impatient SET statement_timeout = '200ms'",
                "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
        ConnectionSettings own = LogicalSupport.conn(source, "shop");
        ConnectionSettings impatient = new ConnectionSettings(own.host(), own.port(), "impatient", own.dbname(), own.password(), own.passfile());
        Path repo = dir.resolve("repo");
        var full = PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), impatient, BackupType.FULL, Compression.ZSTD, 1, null));
        ContentChecksum.Result atFull = LogicalSupport.proof(source, "shop");
        LogicalSupport.sql(source, "shop", "UPDATE t SET v = 'changed' WHERE id % 10 = 0");
        var diff = PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), impatient, BackupType.DIFF, Compression.ZSTD, 2, null));
        ContentChecksum.Result atDiff = LogicalSupport.proof(source, "shop");
        assertThat(atDiff).isNotEqualTo(atFull);
        for (var point : Map.of(full.id(), atFull, diff.id(), atDiff).entrySet()) {
            String db = "restored_" + point.getKey().toLowerCase().replaceAll("[^a-z0-9]", "_");
            PgSupport.facade().logicalRestore(new org.pgstrata.api.LogicalRestoreRequest(repo.toString(), point.getKey(), PgSupport.conn(source),
                    db, true, false, null, 2, null, false, false));
            assertThat(LogicalSupport.proof(source, db)).as("content of %s", point.getKey()).isEqualTo(point.getValue());
        }
    }
}
