package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * expire's logical plan, like its physical one, refuses while a logical manifest is damaged: the
 * damaged one may be a differential of a full the plan would remove (or the newest full of its
 * database). It used to go ahead and remove the full a damaged differential is built on.
 */
class ExpireLogicalDamagedTest extends PgTest {

    @Test
    void aDamagedLogicalManifest_stopsTheLogicalPlan_andNothingIsRemoved() throws Exception {
        LocalCluster a = pg.start("a", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE DATABASE shop");
        try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
            Books.init(c);
            Books.populate(c, 1_000, 500, 1, Progress.NONE);
        }
        LogicalBackupResult lf1 = backup(repo, a, BackupType.FULL, 0);
        LogicalBackupResult ld1 = backup(repo, a, BackupType.DIFF, 1);
        LogicalBackupResult lf2 = backup(repo, a, BackupType.FULL, 2);
        try (FileChannel ch = FileChannel.open(repo.resolve("logical").resolve(ld1.id()).resolve("manifest"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 1, 2, 3}), 40);
        }
        Map<String, Long> before = PgSupport.fileSizes(repo);

        for (String dry : new String[] {"--dry-run", "-q"}) {
            CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-logical", "1", dry);
            assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(15);
            assertThat(r.err().strip()).startsWith("pgstrata: error: ").contains(ld1.id()).contains("; hint: ").doesNotContain("\n");
            assertThat(PgSupport.fileSizes(repo)).isEqualTo(before);
        }
        assertThat(repo.resolve("logical").resolve(lf1.id()).resolve("manifest")).exists();

        // Once the damaged one is deleted, the plan runs.
        assertThat(CliRun.run("delete", "--repo", repo.toString(), "--backup", ld1.id(), "-q").exitCode()).isZero();
        CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-logical", "1", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(repo.resolve("logical").resolve(lf1.id())).doesNotExist();
        assertThat(repo.resolve("logical").resolve(lf2.id()).resolve("manifest")).exists();
    }

    private static LogicalBackupResult backup(Path repo, LocalCluster a, BackupType type, long seed) throws Exception {
        if (seed > 0) {
            try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
                Books.mutate(c, 100, 100, 50, seed);
            }
        }
        return PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, "shop"), type,
                Compression.ZSTD, 1, null));
    }
}
