package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.Repository;

/**
 * A logical full's key index is read only by the next differential, never by a restore (as a
 * physical backup's block map): a damaged one is a problem that verify reports, but verify must
 * not name the full among the backups "a restore would reject" when the full and its
 * differentials restore, and the next differential refuses it (exit code 15).
 */
class LogicalKeyIndexDamageVerifyTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static Path repo;
    static LogicalBackupResult full;
    static LogicalBackupResult diff;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        a = pg.start("a", LogicalSupport.serverMajor());
        repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE DATABASE shop");
        try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
            Books.init(c);
            Books.populate(c, 2_000, 2_000, 7, Progress.NONE);
        }
        full = backup(BackupType.FULL);
        try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
            Books.mutate(c, 20, 20, 10, 11);
        }
        diff = backup(BackupType.DIFF);
        String key;
        String dump;
        try (Repository r = Repository.open(repo.toString())) {
            LogicalManifest m = r.logicalManifest(full.id());
            key = m.tables().stream().filter(t -> t.keyIndex() != null).findFirst().orElseThrow().keyIndex().object().key();
            dump = m.dump().get(0).object().key();
        }
        damagedDump = dir.resolve("repo-damaged-dump");
        PgSupport.copyTree(repo, damagedDump);
        flip(damagedDump.resolve(dump));
        flip(repo.resolve(key));
    }

    static Path damagedDump;

    /** Flips one bit in the middle of a file. */
    static void flip(Path victim) throws Exception {
        byte[] bytes = Files.readAllBytes(victim);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(victim, bytes);
    }

    static LogicalBackupResult backup(BackupType type) {
        return PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, "shop"), type,
                Compression.ZSTD, 1, null));
    }

    @AfterAll
    static void tearDown() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void verifyReportsTheDamagedKeyIndex_butNamesNoBackupThatRestores() throws Exception {
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).anyMatch(p -> p.contains(full.id()) && p.contains("keys"));
        // Both still restore, with their content: so no restore rejects them.
        for (LogicalBackupResult b : new LogicalBackupResult[] {full, diff}) {
            String db = "r_" + b.id().replace('-', '_').toLowerCase();
            PgSupport.facade().logicalRestore(new LogicalRestoreRequest(repo.toString(), b.id(), PgSupport.conn(a), db, false, false, null,
                    1, null, false, false));
            assertThat(LogicalSupport.databaseExists(a, db)).isTrue();
        }
        assertThat(v.rejected()).as("backups verify says a restore would reject").isEmpty();
        // The differential that reads the index refuses it.
        assertThatThrownBy(() -> backup(BackupType.DIFF))
                .isInstanceOf(PgstrataException.class).hasMessageContaining("key index")
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT);
    }

    @Test
    void aDamagedFullArchive_isNamedForTheFullAndItsDifferential_whichARestoreRejects() throws Exception {
        VerifyResult v = PgSupport.facade().verify(damagedDump.toString(), null);
        assertThat(v.rejected()).containsExactlyInAnyOrder(full.id(), diff.id());
        assertThat(PgSupport.facade().verify(damagedDump.toString(), diff.id()).rejected()).contains(diff.id());
        assertThatThrownBy(() -> PgSupport.facade().logicalRestore(new LogicalRestoreRequest(damagedDump.toString(), diff.id(),
                PgSupport.conn(a), "r_from_damaged", false, false, null, 1, null, false, false)))
                .isInstanceOf(PgstrataException.class)
                .extracting(e -> ((PgstrataException) e).code()).isEqualTo(ErrorCode.CORRUPT);
        assertThat(LogicalSupport.databaseExists(a, "r_from_damaged")).isFalse();
    }
}
