package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.LogicalRestoreResult;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.LogicalManifest.LogicalTable;
import org.pgstrata.manifest.Repository;

/**
 * Logical backups on a real server, the system's pg_dump against a bundled server of its major:
 * a full round trip; a differential after inserts, updates, deletes and key changes (integer,
 * text with escapes, composite keys; TOAST, bytea, jsonb, generated and identity columns); a
 * differential after an added column and a dropped primary key; one table alone; and a parallel
 * (directory format) full. Every restore is proven by the row count and hash of every table,
 * and the sequences, captured on the source when the backup was taken.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogicalBackupTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static Path repo;

    static LogicalBackupResult full;
    static ContentChecksum.Result atFull;
    static Map<String, String> seqAtFull;
    static LogicalBackupResult diff1;
    static ContentChecksum.Result atDiff1;
    static Map<String, String> seqAtDiff1;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        a = pg.start("a", LogicalSupport.serverMajor());
        repo = dir.resolve("repo");
        PgSupport.sql(a, "CREATE DATABASE shop");
        try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 7, Progress.NONE); // over 2 MiB: a differential reads it with two connections
        }
        LogicalSupport.sql(a, "shop",
                "CREATE TABLE tags (name text PRIMARY KEY, weight int)",
                "INSERT INTO tags VALUES ('plain', 1), (E'tab\\there', 2), (E'new\\nline', 3), (E'back\\\\slash', 4), ('ünïcödé', 5), ('Zed', 6), ('apple', 7)",
                "CREATE TABLE pairs (a int, b text, v numeric, PRIMARY KEY (a, b))",
                "INSERT INTO pairs SELECT i % 50, 'k' || (i / 50), i * 1.5 FROM generate_series(1, 500) i",
                "CREATE TABLE notes (body text, at timestamptz DEFAULT now())",
                "INSERT INTO notes SELECT 'note ' || i FROM generate_series(1, 100) i",
                "CREATE TABLE measures (id int PRIMARY KEY, x float8, y float8, total float8 GENERATED ALWAYS AS (x + y) STORED, payload bytea, j jsonb)",
                "INSERT INTO measures (id, x, y, payload, j) SELECT i, i / 3.0, i * 0.1, decode(md5(i::text), 'hex'), jsonb_build_object('i', i) FROM generate_series(1, 300) i",
                "CREATE TABLE big_rows (id int PRIMARY KEY, body text)",
                "INSERT INTO big_rows SELECT i, repeat(md5(i::text), 400) FROM generate_series(1, 20) i",
                "CREATE SEQUENCE counter",
                "SELECT nextval('counter'), nextval('counter'), nextval('counter')");
        atFull = LogicalSupport.proof(a, "shop");
        seqAtFull = LogicalSupport.sequences(a, "shop");
        full = backup(BackupType.FULL, 1);

        try (Connection c = Db.connect(LogicalSupport.conn(a, "shop"))) {
            Books.mutate(c, 200, 50, 30, 11);
        }
        LogicalSupport.sql(a, "shop",
                "UPDATE tags SET weight = 20 WHERE name = E'tab\\there'",
                "DELETE FROM tags WHERE name = E'new\\nline'",
                "INSERT INTO tags VALUES (E'brand\\\\new', 8)",
                "UPDATE pairs SET v = v + 1 WHERE a = 3",
                "DELETE FROM pairs WHERE a = 4",
                "UPDATE pairs SET b = b || 'x' WHERE a = 5 AND b = 'k1'",
                "INSERT INTO notes (body) SELECT 'later ' || i FROM generate_series(1, 5) i",
                "UPDATE measures SET x = x + 1 WHERE id <= 10",
                "UPDATE big_rows SET body = body || 'tail' WHERE id = 3",
                "SELECT nextval('counter')");
        atDiff1 = LogicalSupport.proof(a, "shop");
        seqAtDiff1 = LogicalSupport.sequences(a, "shop");
        diff1 = backup(BackupType.DIFF, 2);
    }

    /** Differentials read with two connections where the table is big enough (books is). */
    static LogicalBackupResult backup(BackupType type, int jobs) {
        return PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, "shop"), type,
                Compression.ZSTD, jobs, null));
    }

    static LogicalRestoreResult restore(String id, String toDb, String table, boolean create) {
        return PgSupport.facade().logicalRestore(new LogicalRestoreRequest(repo.toString(), id, PgSupport.conn(a), toDb, create, false, table,
                2, null, false, false));
    }

    @AfterAll
    static void tearDown() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    @Order(1)
    void aFullRestoresTheSourceAsItWas() throws Exception {
        assertThat(full.type()).isEqualTo(LogicalManifest.FULL);
        assertThat(full.tables()).isEqualTo(6);
        try (Repository r = Repository.open(repo.toString())) {
            LogicalManifest m = r.logicalManifest(full.id());
            // one integer key and binary send functions: hashed over binary rows; text and composite keys over text rows
            assertThat(m.table("public", "books").orElseThrow().rowFormat()).isEqualTo(LogicalTable.BINARY);
            assertThat(m.table("public", "tags").orElseThrow().rowFormat()).isEqualTo(LogicalTable.TEXT);
            assertThat(m.table("public", "pairs").orElseThrow().rowFormat()).isEqualTo(LogicalTable.TEXT);
        }
        restore(full.id(), "r_full", null, false);
        assertThat(LogicalSupport.proof(a, "r_full")).isEqualTo(atFull);
        assertThat(LogicalSupport.sequences(a, "r_full")).isEqualTo(seqAtFull);
        assertThat(PgSupport.queryString(a, "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgstrata_restore%'")).isEqualTo("0");
    }

    @Test
    @Order(2)
    void aDifferentialStoresOnlyTheChangedRowsAndDeletedKeys() {
        assertThat(diff1.reference()).isEqualTo(full.id());
        LogicalManifest m;
        try (Repository r = Repository.open(repo.toString())) {
            m = r.logicalManifest(diff1.id());
        }
        LogicalTable tags = m.table("public", "tags").orElseThrow();
        assertThat(tags.mode()).isEqualTo(LogicalTable.DELTA);
        assertThat(tags.changedRows()).isEqualTo(2); // one update, one insert
        assertThat(tags.deletedRows()).isEqualTo(1);
        LogicalTable pairs = m.table("public", "pairs").orElseThrow();
        assertThat(pairs.changedRows()).isEqualTo(10 + 1); // ten updates, the new key of the renamed row
        assertThat(pairs.deletedRows()).isEqualTo(10 + 1); // ten deletes, the old key of the renamed row
        LogicalTable measures = m.table("public", "measures").orElseThrow();
        assertThat(measures.changedRows()).isEqualTo(10);
        assertThat(measures.deletedRows()).isZero();
        assertThat(m.table("public", "big_rows").orElseThrow().changedRows()).isEqualTo(1);
        LogicalTable books = m.table("public", "books").orElseThrow();
        assertThat(books.deletedRows()).isEqualTo(30);
        assertThat(books.changedRows()).isBetween(200L + 1, 200L + 50); // inserts plus the rows updated (some twice)
        assertThat(books.rows()).isEqualTo(20_000 + 200 - 30);
        LogicalTable notes = m.table("public", "notes").orElseThrow();
        assertThat(notes.mode()).isEqualTo(LogicalTable.WHOLE);
        assertThat(notes.reason()).isEqualTo("no primary key");
        assertThat(diff1.wholeTables()).containsExactly("public.notes: no primary key");
        assertThat(diff1.repositoryBytes()).isLessThan(full.repositoryBytes() / 5);
    }

    @Test
    @Order(3)
    void fullPlusDifferentialRestoresTheSourceAtTheDifferential() throws Exception {
        LogicalRestoreResult r = restore(diff1.id(), "r_diff1", null, false);
        assertThat(r.chain()).containsExactly(full.id(), diff1.id());
        assertThat(r.wholeTables()).containsExactly("public.notes: no primary key");
        assertThat(LogicalSupport.proof(a, "r_diff1")).isEqualTo(atDiff1);
        assertThat(LogicalSupport.sequences(a, "r_diff1")).isEqualTo(seqAtDiff1);
        // indexes and constraints come back with the differential's schema
        assertThat(LogicalSupport.proof(a, "r_diff1").tables()).hasSize(6);
        try (Connection c = Db.connect(LogicalSupport.conn(a, "r_diff1"))) {
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_indexes WHERE tablename = 'books'")).isEqualTo("2");
            assertThat(Db.queryString(c, "SELECT total = x + y FROM measures WHERE id = 1")).isEqualTo("t");
        }
    }

    @Test
    @Order(4)
    void oneTableRestoresAlone() throws Exception {
        LogicalRestoreResult r = restore(diff1.id(), "single", "tags", true);
        assertThat(r.table()).isEqualTo("public.tags");
        ContentChecksum.Result single = LogicalSupport.proof(a, "single");
        assertThat(single.tables()).containsExactly(tableSum(atDiff1, "public.tags"));
        // a table kept as changes over the full: its rows, its identity sequence, its indexes
        restore(diff1.id(), "single", "public.books", false);
        single = LogicalSupport.proof(a, "single");
        assertThat(single.tables()).containsExactly(tableSum(atDiff1, "public.books"), tableSum(atDiff1, "public.tags"));
        assertThat(LogicalSupport.sequences(a, "single")).containsEntry("public.books_id_seq", seqAtDiff1.get("public.books_id_seq"))
                .doesNotContainKey("public.counter");
        try (Connection c = Db.connect(LogicalSupport.conn(a, "single"))) {
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_indexes WHERE tablename = 'books'")).isEqualTo("2");
        }
        // and from a full alone
        restore(full.id(), "single", "measures", false);
        assertThat(LogicalSupport.proof(a, "single").tables()).contains(tableSum(atFull, "public.measures"));
    }

    @Test
    @Order(4)
    void theOrderedMergeForTablesTooBigForMemoryFindsTheSameChanges() throws Exception {
        var env = new java.util.HashMap<>(PgSupport.env());
        env.put("PGSTRATA_TEST_ORDERED_MERGE", "1");
        var merging = new org.pgstrata.Pgstrata(java.time.Clock.systemUTC(), Progress.NONE, env);
        LogicalBackupResult merged = merging.logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, "shop"),
                BackupType.DIFF, Compression.ZSTD, 2, null));
        try (Repository r = Repository.open(repo.toString())) {
            LogicalManifest lookup = r.logicalManifest(diff1.id());
            LogicalManifest merge = r.logicalManifest(merged.id());
            for (LogicalTable t : lookup.tables()) {
                LogicalTable m = merge.table(t.schema(), t.name()).orElseThrow();
                assertThat(m.changedRows()).as(t.qualified()).isEqualTo(t.changedRows());
                assertThat(m.deletedRows()).as(t.qualified()).isEqualTo(t.deletedRows());
                assertThat(m.mode()).isEqualTo(t.mode());
            }
        }
        restore(merged.id(), "r_merged", null, false);
        assertThat(LogicalSupport.proof(a, "r_merged")).isEqualTo(atDiff1);
        PgSupport.facade().delete(repo.toString(), merged.id(), false);
    }

    @Test
    @Order(5)
    void anAddedColumnAndADroppedPrimaryKeyTravelWithTheDifferential() throws Exception {
        LogicalSupport.sql(a, "shop",
                "ALTER TABLE books ADD COLUMN note text DEFAULT 'none'",
                "UPDATE books SET note = 'changed' WHERE id % 100 = 0",
                "ALTER TABLE pairs DROP CONSTRAINT pairs_pkey",
                "UPDATE pairs SET v = 0 WHERE a = 7");
        ContentChecksum.Result at = LogicalSupport.proof(a, "shop");
        Map<String, String> seq = LogicalSupport.sequences(a, "shop");
        LogicalBackupResult diff2 = backup(BackupType.DIFF, 2);
        assertThat(diff2.reference()).isEqualTo(full.id());
        assertThat(diff2.wholeTables()).containsExactlyInAnyOrder("public.books: its columns changed since the full",
                "public.notes: no primary key", "public.pairs: no primary key");

        CliRun run = CliRun.run("restore", "--logical", "--repo", repo.toString(), "--backup", diff2.id(), "--to-db", "r_diff2",
                "--port", Integer.toString(PgSupport.conn(a).port()));
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("stored whole in the differential: public.pairs: no primary key")
                .contains("stored whole in the differential: public.books: its columns changed since the full");
        assertThat(LogicalSupport.proof(a, "r_diff2")).isEqualTo(at);
        assertThat(LogicalSupport.sequences(a, "r_diff2")).isEqualTo(seq);
        try (Connection c = Db.connect(LogicalSupport.conn(a, "r_diff2"))) {
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_constraint WHERE conname = 'pairs_pkey'")).isEqualTo("0");
            String changed = "SELECT count(*) FROM books WHERE note = 'changed'";
            try (Connection source = Db.connect(LogicalSupport.conn(a, "shop"))) {
                assertThat(Db.queryString(c, changed)).isEqualTo(Db.queryString(source, changed)).isNotEqualTo("0");
            }
        }
    }

    @Test
    @Order(5)
    void aDifferentialRestoresIntoANewerMajorVersion() throws Exception {
        int major = LogicalSupport.serverMajor();
        int newer = org.pgstrata.db.PgBinaries.BUNDLED_MAJORS.stream().filter(m -> m > major).findFirst()
                .orElseThrow(() -> new IllegalStateException("no bundled server newer than " + major + " to restore into"));
        LocalCluster b = pg.start("newer", newer);
        LogicalRestoreResult r = PgSupport.facade().logicalRestore(new LogicalRestoreRequest(repo.toString(), diff1.id(), PgSupport.conn(b),
                "upgraded", false, false, null, 2, null, false, false));
        assertThat(r.chain()).containsExactly(full.id(), diff1.id());
        try (Connection c = Db.connect(PgSupport.conn(b).withDbname("upgraded"))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(atDiff1);
            assertThat(Db.queryString(c, "SHOW server_version_num")).startsWith(Integer.toString(newer));
        }
        b.stopImmediately();
    }

    @Test
    @Order(6)
    void aParallelFullUsesTheDirectoryFormatAndRestoresInParallel() throws Exception {
        ContentChecksum.Result now = LogicalSupport.proof(a, "shop");
        LogicalBackupResult parallel = backup(BackupType.FULL, 2);
        try (Repository r = Repository.open(repo.toString())) {
            LogicalManifest m = r.logicalManifest(parallel.id());
            assertThat(m.dumpFormat()).isEqualTo(LogicalManifest.DIRECTORY);
            assertThat(m.dump()).extracting(LogicalManifest.StoredFile::name).contains("dump/toc.dat");
        }
        restore(parallel.id(), "r_parallel", null, false);
        assertThat(LogicalSupport.proof(a, "r_parallel")).isEqualTo(now);
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
        assertThat(PgSupport.facade().list(repo.toString())).extracting(b -> b.type())
                .containsExactly("logical-full", "logical-diff", "logical-diff", "logical-full");
    }

    private static ContentChecksum.TableSum tableSum(ContentChecksum.Result r, String table) {
        return r.tables().stream().filter(t -> t.table().equals(table)).findFirst().orElseThrow();
    }
}
