package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;

/**
 * Incremental and differential backups on a real server: a chain with every kind of change
 * between its members (rows, new and dropped tables, TRUNCATE, VACUUM FULL, an index, a new
 * database, a tablespace), each member restored and proven by the content of every database and
 * amcheck; what the manifests record; and removal that protects dependants.
 */
class IncrementalBackupTest extends PgTest {

    private BackupResult backup(Path repo, LocalCluster c, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), type, Compression.ZSTD, 2, 0));
    }

    static Map<String, ContentChecksum.Result> proof(LocalCluster c) throws SQLException {
        return ClusterContent.proof(c);
    }

    @Test
    void everyMemberOfAChainRestoresWithItsContent() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        Path tablespace = Files.createDirectories(dir.resolve("ts"));
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
            Db.execute(c, "VACUUM ANALYZE books");
        }
        List<BackupResult> taken = new ArrayList<>();
        List<Map<String, ContentChecksum.Result>> expected = new ArrayList<>();
        // With no full yet, an incremental becomes a full.
        taken.add(backup(repo, src, BackupType.INCR));
        assertThat(taken.get(0).type()).isEqualTo("full");
        expected.add(proof(src));

        // Rows changed, a new table, a new database, a tablespace.
        PgSupport.sql(src, "CREATE TABLE extra (id int PRIMARY KEY, v text)",
                "INSERT INTO extra SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g",
                "CREATE DATABASE second", "CREATE TABLESPACE ts LOCATION '" + tablespace + "'",
                "CREATE TABLE spaced (id int PRIMARY KEY, v text) TABLESPACE ts",
                "INSERT INTO spaced SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
                "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)", "INSERT INTO scratch SELECT generate_series(1, 1000)");
        String scratch = PgSupport.queryString(src, "SELECT pg_relation_filepath('scratch')");
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 500, 300, 200, 7);
        }
        try (Connection c = Db.connect(PgSupport.conn(src).withDbname("second"))) {
            Db.execute(c, "CREATE TABLE s (id int PRIMARY KEY, v text)");
            Db.execute(c, "INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        }
        taken.add(backup(repo, src, BackupType.INCR));
        expected.add(proof(src));

        // Rewrites and removals: VACUUM FULL (new files), DROP TABLE, TRUNCATE, an index, deletes then VACUUM.
        PgSupport.sql(src, "VACUUM FULL extra", "DROP TABLE spaced", "TRUNCATE extra",
                "INSERT INTO extra SELECT g, 'y' FROM generate_series(1, 100) g", "CREATE INDEX books_year ON books (published_year)",
                "DELETE FROM books WHERE id % 7 = 0", "VACUUM books");
        taken.add(backup(repo, src, BackupType.DIFF));
        expected.add(proof(src));

        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 100, 100, 8);
        }
        try (Connection c = Db.connect(PgSupport.conn(src).withDbname("second"))) {
            Db.execute(c, "DELETE FROM s WHERE id > 1500");
        }
        taken.add(backup(repo, src, BackupType.INCR));
        expected.add(proof(src));

        // The manifests: references, page sets, unchanged files, and a much smaller incremental.
        Repository.warmUp();
        try (Repository r = Repository.open(repo.toString())) {
            Manifest incr = r.manifest(taken.get(1).id());
            assertThat(incr.reference()).isEqualTo(taken.get(0).id());
            assertThat(incr.files()).anyMatch(FileEntry::isPages).anyMatch(FileEntry::isUnchanged);
            // An unlogged relation keeps only its init fork.
            assertThat(incr.files()).extracting(FileEntry::path).contains(scratch + "_init").doesNotContain(scratch);
            Manifest diff = r.manifest(taken.get(2).id());
            assertThat(diff.reference()).as("a differential builds on the full").isEqualTo(taken.get(0).id());
            Manifest last = r.manifest(taken.get(3).id());
            assertThat(last.reference()).as("an incremental builds on the previous backup").isEqualTo(taken.get(2).id());
            // A file left unchanged names the backup that stores it, never another "unchanged".
            for (FileEntry f : last.files()) {
                if (f.isUnchanged()) {
                    assertThat(r.manifest(f.reference()).files()).filteredOn(e -> e.path().equals(f.path()))
                            .singleElement().matches(e -> !e.isUnchanged());
                }
            }
        }
        assertThat(taken.get(3).repositoryBytes()).as("the last incremental against the full")
                .isLessThan(taken.get(0).repositoryBytes() / 4);
        List<BackupInfo> listed = PgSupport.facade().list(repo.toString());
        assertThat(listed.get(3).chain()).containsExactly(taken.get(0).id(), taken.get(2).id(), taken.get(3).id());
        assertThat(listed.get(2).chain()).containsExactly(taken.get(0).id(), taken.get(2).id());

        for (int i = 0; i < taken.size(); i++) {
            LocalCluster restored = pg.restoreAndStart(repo, taken.get(i).id(), "restored-" + i, 17);
            assertThat(proof(restored)).as("backup " + i + " (" + taken.get(i).type() + ")").isEqualTo(expected.get(i));
            if (i > 0) {
                assertThat(PgSupport.queryString(restored, "SELECT count(*) FROM scratch")).as("unlogged table restored empty").isEqualTo("0");
            }
            restored.stop();
        }
    }

    @Test
    void aBackupThatOthersBuildOnIsOnlyRemovedWithThem() throws Exception {
        LocalCluster src = pg.start("src", 17);
        Path repo = dir.resolve("repo");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 2_000, 1_000, 1, Progress.NONE);
        }
        BackupResult full = backup(repo, src, BackupType.FULL);
        PgSupport.sql(src, "UPDATE books SET title = title || '!' WHERE id < 50");
        BackupResult incr = backup(repo, src, BackupType.INCR);
        PgSupport.sql(src, "UPDATE books SET title = title || '?' WHERE id < 50");
        Map<String, ContentChecksum.Result> atDiff = proof(src);
        BackupResult diff = backup(repo, src, BackupType.DIFF);
        PgSupport.sql(src, "UPDATE books SET title = title || '.' WHERE id < 50");
        BackupResult incr2 = backup(repo, src, BackupType.INCR);
        assertThat(incr2.reference()).isEqualTo(diff.id());

        assertThatThrownBy(() -> PgSupport.facade().delete(repo.toString(), full.id(), false))
                .isInstanceOfSatisfying(PgstrataException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.HAS_DEPENDANTS);
                    assertThat(e.getMessage()).contains(incr.id(), diff.id(), incr2.id());
                });
        assertThat(PgSupport.facade().list(repo.toString())).hasSize(4);

        // The incremental nothing builds on goes alone; the rest still restores.
        assertThat(PgSupport.facade().delete(repo.toString(), incr.id(), false)).containsExactly(incr.id());
        LocalCluster restored = pg.restoreAndStart(repo, diff.id(), "after-delete", 17);
        assertThat(proof(restored)).isEqualTo(atDiff);
        restored.stop();

        assertThat(PgSupport.facade().delete(repo.toString(), full.id(), true)).containsExactly(incr2.id(), diff.id(), full.id());
        assertThat(PgSupport.facade().list(repo.toString())).isEmpty();
    }
}
