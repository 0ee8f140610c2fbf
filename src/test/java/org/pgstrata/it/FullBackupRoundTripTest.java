package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Page;
import org.pgstrata.postgres.PageChecksum;

/** A full backup restores to exactly the content it was taken at, on real servers of several majors. */
class FullBackupRoundTripTest extends PgTest {

    /** Books plus the awkward cases: no primary key, TOASTed values, an unlogged table, a second database. */
    private static void loadContent(LocalCluster c) throws Exception {
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 20_000, 5_000, 3, Progress.NONE);
            Db.execute(conn, "CREATE TABLE notes (body text)"); // no primary key
            Db.execute(conn, "INSERT INTO notes SELECT repeat(md5(g::text), 500) FROM generate_series(1, 50) g"); // TOASTed
            Db.execute(conn, "CREATE UNLOGGED TABLE scratch (id int primary key, v text)");
            Db.execute(conn, "INSERT INTO scratch SELECT g, 'x' FROM generate_series(1, 1000) g");
            Db.execute(conn, "CREATE DATABASE second");
        }
        PgSupport.sql(c, "CHECKPOINT");
        try (Connection conn = Db.connect(PgSupport.conn(c).withDbname("second"))) {
            Db.execute(conn, "CREATE TABLE t (id int primary key, v text)");
            Db.execute(conn, "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {15, 17, 18})
    void fullBackup_ofAQuietCluster_restoresWithAnEqualContentHash(int major) throws Exception {
        LocalCluster source = pg.start("source", major);
        loadContent(source);
        ContentChecksum.Result expected;
        ContentChecksum.Result expectedSecond;
        try (Connection c = PgSupport.connect(source)) {
            expected = ContentChecksum.compute(c);
        }
        try (Connection c = Db.connect(PgSupport.conn(source).withDbname("second"))) {
            expectedSecond = ContentChecksum.compute(c);
        }
        assertThat(expected.totalRows()).isEqualTo(20_050);

        BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);
        assertThat(b.type()).isEqualTo("full");
        assertThat(b.walSegments()).isGreaterThanOrEqualTo(1);

        // Change the source afterwards: the restore must show the backup point, not the present.
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 100, 100, 100, 9);
        }

        LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored", major);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(expected);
            assertThat(Amcheck.check(c)).isEmpty();
            // The unlogged table comes back empty, as PostgreSQL's own base backup leaves it.
            assertThat(Db.queryString(c, "SELECT count(*) FROM scratch")).isEqualTo("0");
            // And the restored server is read-write with archiving off.
            Db.execute(c, "INSERT INTO notes VALUES ('written after restore')");
            assertThat(Db.queryString(c, "SHOW archive_mode")).isEqualTo("off");
        }
        try (Connection c = Db.connect(PgSupport.conn(restored).withDbname("second"))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(expectedSecond);
            assertThat(Amcheck.check(c)).isEmpty();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {15, 17})
    void fullBackup_takenWhileAWriterCommits_restoresToAConsistentState(int major) throws Exception {
        LocalCluster source = pg.start("source", major);
        int accounts = 200;
        long initial = 1000;
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 60_000, 10_000, 5, Progress.NONE); // makes the copy take a while
            Db.execute(c, "CREATE TABLE accounts (id int primary key, balance bigint not null)");
            Db.execute(c, "CREATE TABLE transfers (id bigserial primary key, src int, dst int, amount bigint)");
            Db.execute(c, "INSERT INTO accounts SELECT g, " + initial + " FROM generate_series(1, " + accounts + ") g");
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong committed = new AtomicLong();
        Thread writer = new Thread(() -> transfers(source, accounts, stop, committed), "transfer-writer");
        writer.start();
        try {
            while (committed.get() < 200) {
                Thread.sleep(10);
            }
            long before = committed.get();
            BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);
            long during = committed.get() - before;
            assertThat(during).as("transfers committed while the backup ran").isPositive();
            stop.set(true);
            writer.join();

            LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored", major);
            try (Connection c = PgSupport.connect(restored)) {
                assertThat(Db.queryString(c, "SELECT sum(balance) FROM accounts")).isEqualTo(Long.toString(accounts * initial));
                // Every balance is explained by exactly the transfers that were restored with it.
                assertThat(Db.queryString(c, """
                        SELECT count(*) FROM accounts a
                        WHERE a.balance <> %d
                          + coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0)
                          - coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0)""".formatted(initial))).isEqualTo("0");
                long restoredTransfers = Long.parseLong(Db.queryString(c, "SELECT count(*) FROM transfers"));
                assertThat(restoredTransfers).isGreaterThanOrEqualTo(before).isLessThanOrEqualTo(committed.get());
                assertThat(Amcheck.check(c)).isEmpty();
            }
        } finally {
            stop.set(true);
            writer.join();
        }
    }

    private static void transfers(LocalCluster source, int accounts, AtomicBoolean stop, AtomicLong committed) {
        SplittableRandom rnd = new SplittableRandom(11);
        try (Connection c = PgSupport.connect(source)) {
            c.setAutoCommit(false);
            try (PreparedStatement debit = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = ?");
                 PreparedStatement credit = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
                 PreparedStatement log = c.prepareStatement("INSERT INTO transfers (src, dst, amount) VALUES (?, ?, ?)")) {
                while (!stop.get()) {
                    int from = 1 + rnd.nextInt(accounts);
                    int to = 1 + rnd.nextInt(accounts);
                    long amount = 1 + rnd.nextInt(50);
                    debit.setLong(1, amount);
                    debit.setInt(2, from);
                    debit.executeUpdate();
                    credit.setLong(1, amount);
                    credit.setInt(2, to);
                    credit.executeUpdate();
                    log.setInt(1, from);
                    log.setInt(2, to);
                    log.setLong(3, amount);
                    log.executeUpdate();
                    c.commit();
                    committed.incrementAndGet();
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void fullBackup_ofAClusterWithACorruptPage_reportsItAndKeepsNoBackup() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String relPath;
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 5_000, 5_000, 1, Progress.NONE);
            Db.execute(c, "CHECKPOINT");
            relPath = Db.queryString(c, "SELECT pg_relation_filepath('books')");
        }
        BackupResult good = PgSupport.fullBackup(dir.resolve("repo"), source);
        // Damage block 2 on disk behind the server's back (its LSN, in the header, stays old).
        Path file = source.pgdata().resolve(relPath);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("garbage!".getBytes()), 2L * Page.SIZE + 4000);
        }
        assertThatThrownBy(() -> PgSupport.fullBackup(dir.resolve("repo"), source))
                .isInstanceOf(org.pgstrata.api.PgstrataException.class)
                .hasMessageContaining("wrong checksum").hasMessageContaining(relPath + " block 2")
                .extracting(e -> ((org.pgstrata.api.PgstrataException) e).code()).isEqualTo(org.pgstrata.api.ErrorCode.CORRUPT);
        assertThat(PgSupport.facade().list(dir.resolve("repo").toString())).extracting(org.pgstrata.api.BackupInfo::id)
                .containsExactly(good.id());
    }

    @Test
    void fullBackup_checksTheSharedCatalogsInGlobalToo() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String relPath;
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CHECKPOINT");
            relPath = Db.queryString(c, "SELECT pg_relation_filepath('pg_database')");
        }
        assertThat(relPath).startsWith("global/");
        try (var ch = java.nio.channels.FileChannel.open(source.pgdata().resolve(relPath), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("garbage!".getBytes()), 6000);
        }
        assertThatThrownBy(() -> PgSupport.fullBackup(dir.resolve("repo"), source))
                .isInstanceOf(org.pgstrata.api.PgstrataException.class)
                .hasMessageContaining("wrong checksum").hasMessageContaining(relPath + " block 0");
    }

    @Test
    void pageChecksum_matchesWhatPostgresWrote_andCatchesAFlippedBit() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String relPath;
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 5_000, 5_000, 1, Progress.NONE);
            Db.execute(c, "CHECKPOINT");
            relPath = Db.queryString(c, "SELECT pg_relation_filepath('books')");
        }
        byte[] file = Files.readAllBytes(source.pgdata().resolve(relPath));
        int pages = file.length / Page.SIZE;
        assertThat(pages).isGreaterThan(10);
        for (int p = 0; p < pages; p++) {
            assertThat(PageChecksum.verify(file, p * Page.SIZE, p)).as("page %d", p).isTrue();
        }
        // The block number is part of the checksum: the same page claimed as another block fails.
        assertThat(PageChecksum.verify(file, Page.SIZE, 2)).isFalse();
        file[3 * Page.SIZE + 500] ^= 1;
        assertThat(PageChecksum.verify(file, 3 * Page.SIZE, 3)).isFalse();
        ByteBuffer.wrap(file); // the array is only read; nothing is written back to the cluster
    }
}
