package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * --retain-logical on a repository holding logical backups of two databases and a physical full:
 * the count is per database, an old full goes with its differentials, and physical backups are
 * left alone without a physical rule.
 */
class ExpireLogicalTest extends PgTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void retainLogical1_keepsTheNewestFullOfEachDatabase_withItsDifferentials() throws Exception {
        LocalCluster a = pg.start("a", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE DATABASE shop", "CREATE DATABASE other");
        for (String db : List.of("shop", "other")) {
            try (Connection c = Db.connect(LogicalSupport.conn(a, db))) {
                Books.init(c);
                Books.populate(c, 2_000, 1_000, 1, Progress.NONE);
            }
        }
        BackupResult physical = PgSupport.fullBackup(repo, a);
        LogicalBackupResult otherFull = backup(repo, a, "other", BackupType.FULL, 0);
        LogicalBackupResult lf1 = backup(repo, a, "shop", BackupType.FULL, 0);
        LogicalBackupResult ld1 = backup(repo, a, "shop", BackupType.DIFF, 1);
        LogicalBackupResult lf2 = backup(repo, a, "shop", BackupType.FULL, 2);
        LogicalBackupResult ld2 = backup(repo, a, "shop", BackupType.DIFF, 3);
        ContentChecksum.Result atLd2 = LogicalSupport.proof(a, "shop");
        assertThat(List.of(ld1.reference(), ld2.reference())).containsExactly(lf1.id(), lf2.id());

        CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-logical", "1", "--json", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(ExpireTest.ids(json.get("removed"))).containsExactly(ld1.id(), lf1.id());
        assertThat(json.get("removed").get(0).get("reason").asText()).isEqualTo("built on " + lf1.id() + ", which goes");
        assertThat(json.get("removed").get(1).get("reason").asText()).isEqualTo("older than the newest logical full of database shop");
        assertThat(ExpireTest.ids(json.get("kept"))).containsExactly(otherFull.id(), lf2.id(), ld2.id());
        assertThat(json.get("bytesFreed").asLong()).isEqualTo(lf1.repositoryBytes() + ld1.repositoryBytes());
        assertThat(json.get("walKeptFrom").isNull()).isTrue();

        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id)
                .containsExactlyInAnyOrder(physical.id(), otherFull.id(), lf2.id(), ld2.id());
        assertThat(repo.resolve("logical").resolve(lf1.id())).doesNotExist();
        assertThat(repo.resolve("logical").resolve(ld1.id())).doesNotExist();
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();

        PgSupport.facade().logicalRestore(new LogicalRestoreRequest(repo.toString(), ld2.id(), PgSupport.conn(a), "restored", true, false,
                null, 2, null, false, false));
        assertThat(LogicalSupport.proof(a, "restored")).isEqualTo(atLd2);
    }

    private static LogicalBackupResult backup(Path repo, LocalCluster a, String db, BackupType type, long seed) throws Exception {
        if (seed > 0) {
            try (Connection c = Db.connect(LogicalSupport.conn(a, db))) {
                Books.mutate(c, 100, 100, 50, seed);
            }
        }
        return PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, db), type,
                Compression.ZSTD, 1, null));
    }
}
