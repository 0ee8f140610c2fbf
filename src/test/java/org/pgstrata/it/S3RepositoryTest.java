package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.Self;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.s3.CorruptingRelay;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Server;
import org.pgstrata.storage.s3.S3Storage;

/**
 * Repositories on a real S3-compatible server (s3proxy, objects on disk, on 127.0.0.1), end to
 * end on real PostgreSQL: WAL archived by the server's own archive_command into S3, a
 * full + incremental + differential chain restored to a point in time, a reverse-delta series, and
 * the faults: the S3 server stopped in the middle of a backup, and an object deleted behind
 * pgstrata's back. Restores run through the command line in a child process, as a user runs them,
 * with the S3 credentials in its environment (the restored server's restore_command needs them).
 */
class S3RepositoryTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static S3Server s3;
    static LocalCluster source;
    static String repo;
    static final String BUCKET = "pgstrata-it";

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        s3 = S3Server.onDisk(dir.resolve("s3"));
        repo = s3.location(BUCKET, "clusters/main");
        Pgstrata f = PgSupport.facade();
        // The repository (and its bucket) is made by cluster init; the server archives into it from its first segment.
        source = pg.track(f.clusterInit(dir.resolve("source"), LocalCluster.freePort(), 17, null, repo));
        source.start(null, S3Server.environment());
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        pg.close();
        s3.close();
    }

    /** A new PostgreSQL 17 cluster holding {@code rows} books. */
    private static LocalCluster booksCluster(String name, int rows, long seed) throws Exception {
        LocalCluster c = pg.start(name, 17);
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, rows, 10_000, seed, Progress.NONE);
        }
        return c;
    }

    private static BackupResult backup(String location, LocalCluster c, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(location, c.pgdata(), PgSupport.conn(c), type, Compression.ZSTD, 2, 0));
    }

    /** pgstrata in a child process, with the S3 credentials in its environment; returns {exit code, output}. */
    static Object[] cli(List<String> args) throws Exception {
        return cli(Map.of(), args);
    }

    /** {@link #cli(List)} with {@code env} added to the child's environment. */
    static Object[] cli(Map<String, String> env, List<String> args) throws Exception {
        StringBuilder line = new StringBuilder(Self.shellCommand());
        for (String a : args) {
            line.append(' ').append(Self.quote(a));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", line.toString()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("AWS_"));
        pb.environment().putAll(S3Server.environment());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return new Object[] {p.exitValue(), out};
    }

    static List<String> args(String location, String... rest) {
        List<String> a = new ArrayList<>(List.of(rest));
        a.addAll(1, S3Location.parse(location).arguments());
        return a;
    }

    /** Restores through the command line, starts the copy, and proves its content. */
    private static void restoreAndProve(String location, String name, ContentChecksum.Result expected, String... target) throws Exception {
        int port = LocalCluster.freePort();
        List<String> a = args(location, "restore", "--to", dir.resolve(name).toString(), "--start", "--port", String.valueOf(port));
        a.addAll(List.of(target));
        Object[] r = cli(a);
        LocalCluster restored = pg.trackRestored(dir.resolve(name), 17);
        assertThat((int) r[0]).as(String.valueOf(r[1])).isZero();
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(expected);
            assertThat(Amcheck.check(c)).isEmpty();
        }
        restored.stop();
    }

    @Test
    void aChainWithTheWalArchive_restoresToAPointInTime_fromS3() throws Exception {
        BackupResult full = backup(repo, source, BackupType.FULL);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 500, 500, 200, 2);
        }
        BackupResult incr = backup(repo, source, BackupType.INCR);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 300, 300, 100, 3);
        }
        BackupResult diff = backup(repo, source, BackupType.DIFF);
        assertThat(incr.reference()).isEqualTo(full.id());
        assertThat(diff.reference()).isEqualTo(full.id());
        ContentChecksum.Result atPoint;
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 200, 200, 50, 4);
            atPoint = ContentChecksum.compute(c);
        }
        PgSupport.facade().restorePoint(PgSupport.conn(source), "s3-point", false);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 100, 100, 100, 5); // after the point: must not be in the restore
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(source);

        VerifyResult v = PgSupport.facade().verify(repo, null);
        assertThat(v.problems()).isEmpty();
        assertThat(v.backups()).isGreaterThanOrEqualTo(3);
        // The WAL came into S3 through archive_command, run by the server itself.
        try (Storage s = new S3Storage(S3Location.parse(repo))) {
            assertThat(s.list("archive/")).isNotEmpty();
        }
        Object[] info = cli(args(repo, "info"));
        assertThat((int) info[0]).as(String.valueOf(info[1])).isZero();
        assertThat((String) info[1]).as("what the archive on S3 can restore: the restore point, no gaps").contains("restore point s3-point")
                .containsPattern("(?m)^1 .* none$");
        Object[] list = cli(args(repo, "list"));
        assertThat((int) list[0]).isZero();
        assertThat((String) list[1]).contains(full.id()).contains(incr.id()).contains(diff.id());

        restoreAndProve(repo, "pitr", atPoint, "--target-name", "s3-point");
    }

    /**
     * One connection cut in the middle of a data object while verify or restore reads it: before,
     * verify reported the intact backup as one that "would not restore" (exit 15, "take a new full
     * backup") and restore failed. The read now goes on from where the cut left it.
     */
    @Test
    void aDownloadCutWhileVerifyOrRestoreReads_isResumed_notCalledDamaged() throws Exception {
        String location = s3.location(BUCKET, "clusters/cut-verify");
        LocalCluster c = booksCluster("cut-verify-source", 10_000, 11);
        ContentChecksum.Result atBackup;
        try (Connection conn = PgSupport.connect(c)) {
            atBackup = ContentChecksum.compute(conn);
        }
        String id = backup(location, c, BackupType.FULL).id();
        s3.cutNextRead(100_000);
        VerifyResult v = PgSupport.facade().verify(location, null);
        assertThat(v.problems()).isEmpty();
        assertThat(v.rejected()).isEmpty();
        assertThat(s3.readCutPending()).as("a read of backup %s was cut", id).isFalse();

        s3.cutNextReads(100_000, 3);
        restoreAndProve(location, "cut-restore", atBackup);
        assertThat(s3.readCutPending()).as("three reads of the restore were cut").isFalse();
    }

    /**
     * The store fails a read, and every retry of its rest: verify cannot check that file. It said
     * the backup "would not restore" (exit 15, "take a new full backup"); it now says the file
     * was not checked, rejects nothing, and exits 22, an I/O error, as restore does; restore's hint
     * names the store, not the target's free space.
     */
    @Test
    void aReadTheStoreKeepsFailing_isNotChecked_notCalledDamaged() throws Exception {
        String location = s3.location(BUCKET, "clusters/cut-for-good");
        LocalCluster c = booksCluster("cut-for-good-source", 10_000, 12);
        backup(location, c, BackupType.FULL);
        // pg_proc's object (the largest of database 1) is cut at 100 kB, then every attempt (the SDK's 8) to read its rest fails
        long[] cuts = new long[1 + 8];
        cuts[0] = 100_000;
        s3.cutReadsOf("base+1+1255", cuts);
        Object[] v = cli(args(location, "verify"));
        s3.cutNextRead(-1);
        assertThat((int) v[0]).as(String.valueOf(v[1])).isEqualTo(22);
        assertThat((String) v[1]).contains("not checked: backup ").contains("the store failed to deliver it")
                .contains("this says nothing about those backups").doesNotContain("would not restore").doesNotContain("a restore would reject");
        Object[] again = cli(args(location, "verify"));
        assertThat((int) again[0]).as(String.valueOf(again[1])).isZero();

        // restore said "check free space and permissions" of its target
        s3.cutReadsOf("base+1+1255", cuts);
        Path target = dir.resolve("cut-for-good-restore");
        Object[] r = cli(args(location, "restore", "--to", target.toString()));
        s3.cutNextRead(-1);
        assertThat((int) r[0]).as(String.valueOf(r[1])).isEqualTo(22);
        assertThat((String) r[1]).contains("reading s3://").contains("nothing was left there")
                .contains("the repository's store did not deliver the backup").doesNotContain("free space");
        assertThat(target).doesNotExist();
    }

    /**
     * The same failure on an archived WAL segment: verify said the repository was damaged (exit 15,
     * "problem: cannot read the WAL archive", "do not rely on the damaged backups; take a new full
     * backup") and checked no segment after it. It now says the segment was not checked and
     * exits 22, as for a backup's object.
     */
    @Test
    void anArchivedSegmentTheStoreKeepsFailing_isNotChecked_notCalledDamaged() throws Exception {
        String location = s3.location(BUCKET, "clusters/wal-cut-for-good");
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("wal-cut-source"), LocalCluster.freePort(), 17, null, location));
        c.start(null, S3Server.environment());
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 10_000, 5_000, 13, Progress.NONE);
        }
        backup(location, c, BackupType.FULL);
        PitrTest.waitForArchive(c);
        c.stop();
        assertThat(PgSupport.facade().verify(location, null).problems()).isEmpty();
        // The first archived segment's object (about 2 MB) is cut at 100 kB, then every attempt to read its rest fails
        long[] cuts = new long[1 + 8];
        cuts[0] = 100_000;
        s3.cutReadsOf("wal-cut-for-good/archive/", cuts);
        Object[] v = cli(args(location, "verify"));
        s3.cutNextRead(-1);
        assertThat((int) v[0]).as(String.valueOf(v[1])).isEqualTo(22);
        assertThat((String) v[1]).contains("not checked: archived WAL ").contains("the store failed to deliver it")
                .contains("this says nothing about those backups").doesNotContain("problem:").doesNotContain("take a new full backup");
        Object[] again = cli(args(location, "verify"));
        assertThat((int) again[0]).as(String.valueOf(again[1])).isZero();
    }

    /**
     * A backup's block map that the store fails to deliver (every attempt answered 500) was a
     * problem ("its block map cannot be read", exit 15, "take a new full backup"); it is not
     * checked, exit 22, as the backup's other objects.
     */
    @Test
    void aBlockMapTheStoreKeepsFailing_isNotChecked_notCalledDamaged() throws Exception {
        String location = s3.location(BUCKET, "clusters/bm-cut");
        LocalCluster c = booksCluster("bm-cut-source", 5_000, 14);
        String id = backup(location, c, BackupType.FULL).id();
        c.stop();
        long[] cuts = new long[1 + 8]; // each of the SDK's 8 attempts fails at its first byte: the store answers 500
        s3.cutReadsOf("bm-cut/backup/" + id + "/blockmap", cuts);
        Object[] v = cli(args(location, "verify"));
        s3.cutNextRead(-1);
        assertThat((int) v[0]).as(String.valueOf(v[1])).isEqualTo(22);
        assertThat((String) v[1]).contains("not checked: backup " + id + ": its block map was not checked: the store failed to deliver it")
                .doesNotContain("problem:").doesNotContain("take a new full backup");
        Object[] again = cli(args(location, "verify"));
        assertThat((int) again[0]).as(String.valueOf(again[1])).isZero();
    }

    /**
     * verify writes a probe object to show that the store refuses a second write of one key. A
     * store that refuses the probe itself (credentials that may only read, a failing store) made
     * verify report a problem over intact backups (exit 15, "do not rely on the damaged backups;
     * take a new full backup"), and the error of the probe's removal hid why the write failed.
     */
    @Test
    void aProbeWriteTheStoreRefuses_isNotChecked_notCalledDamaged() throws Exception {
        s3.refusePutsContaining("clusters/main/probe/");
        VerifyResult v;
        try {
            v = PgSupport.facade().verify(repo, null);
        } finally {
            s3.refusePutsContaining(null);
        }
        assertThat(v.problems()).isEmpty();
        assertThat(v.rejected()).isEmpty();
        assertThat(v.unreadable()).anyMatch(u -> u.contains("second write") && u.contains("writing s3://" + BUCKET + "/clusters/main/probe/"));
    }

    @Test
    void aReverseDeltaSeries_onS3_restoresItsNewestAndItsOldestPoint() throws Exception {
        String location = s3.location(BUCKET, "clusters/reverse");
        LocalCluster c = booksCluster("reverse-source", 10_000, 7);
        List<ContentChecksum.Result> points = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        try (Connection conn = PgSupport.connect(c)) {
            points.add(ContentChecksum.compute(conn));
        }
        ids.add(backup(location, c, BackupType.FULL).id());
        for (int i = 0; i < 2; i++) {
            try (Connection conn = PgSupport.connect(c)) {
                Books.mutate(conn, 400, 400, 100, 20 + i);
                points.add(ContentChecksum.compute(conn));
            }
            ids.add(backup(location, c, BackupType.REVERSE).id());
        }
        List<String> types = PgSupport.facade().list(location).stream().map(b -> b.type()).toList();
        assertThat(types).as("the newest is a full, older points reverse deltas").last().isEqualTo("full");
        assertThat(PgSupport.facade().verify(location, null).problems()).isEmpty();
        restoreAndProve(location, "reverse-newest", points.get(2));
        restoreAndProve(location, "reverse-oldest", points.get(0), "--backup", ids.get(0));
    }

    @Test
    void theS3ServerStoppedMidBackup_failsItClearly_theRepositoryStillVerifies_andTheNextBackupSucceeds() throws Exception {
        String location = s3.location(BUCKET, "clusters/fault");
        LocalCluster c = booksCluster("fault-source", 60_000, 9);
        BackupResult first = backup(location, c, BackupType.FULL);
        try (Connection conn = PgSupport.connect(c)) {
            Books.mutate(conn, 2000, 2000, 500, 10);
        }
        AtomicBoolean stopped = new AtomicBoolean();
        Progress stopHalfway = RecordingProgress.atAdvance((done, total) -> {
            if (total > 0 && done > total / 3 && stopped.compareAndSet(false, true)) {
                s3.stop();
            }
        });
        Pgstrata f = new Pgstrata(Clock.systemUTC(), stopHalfway, PgSupport.env());
        try {
            assertThatThrownBy(() -> f.backup(new BackupRequest(location, c.pgdata(), PgSupport.conn(c), BackupType.FULL,
                    Compression.ZSTD, 2, 0)))
                    .isInstanceOf(PgstrataException.class)
                    .satisfies(e -> {
                        PgstrataException p = (PgstrataException) e;
                        assertThat(p.code()).isEqualTo(ErrorCode.IO);
                        assertThat(p.oneLine()).doesNotContain("\n").contains(S3Location.parse(location).describe())
                                .contains(s3.endpoint().replace("http://", ""));
                    });
            assertThat(stopped).isTrue();
        } finally {
            s3.start();
        }
        assertThat(PgSupport.facade().list(location)).extracting(b -> b.id()).containsExactly(first.id());
        VerifyResult v = PgSupport.facade().verify(location, null);
        assertThat(v.problems()).isEmpty();
        assertThat(v.incomplete()).as("the cut backup is named as an orphan").hasSize(1);

        ContentChecksum.Result now;
        try (Connection conn = PgSupport.connect(c)) {
            now = ContentChecksum.compute(conn);
        }
        BackupResult next = backup(location, c, BackupType.INCR);
        assertThat(next.reference()).isEqualTo(first.id());
        VerifyResult after = PgSupport.facade().verify(location, null);
        assertThat(after.problems()).isEmpty();
        assertThat(after.incomplete()).as("the next backup removed the orphan").isEmpty();
        assertThat(after.unfinished()).isEmpty();
        restoreAndProve(location, "after-fault", now);
    }

    /** As LostManifestTest, on S3: the listing that finds the backups (with sizes) finds the one that lost its manifest. */
    @Test
    void aManifestDeletedBehindPgstratasBack_isADamagedBackup_thatTheNextBackupKeeps() throws Exception {
        String location = s3.location(BUCKET, "clusters/lost-manifest");
        LocalCluster c = booksCluster("lost-manifest-source", 2_000, 12);
        backup(location, c, BackupType.FULL);
        BackupResult lost = backup(location, c, BackupType.FULL);
        String prefix = "backup/" + lost.id() + "/";
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            s.delete(prefix + "manifest");
        }
        Object[] verify = cli(args(location, "verify"));
        assertThat((int) verify[0]).as(String.valueOf(verify[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat((String) verify[1]).contains("manifest of backup " + lost.id() + " is missing").doesNotContain("incomplete backup");

        backup(location, c, BackupType.FULL);
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            assertThat(s.list(prefix)).as("what the next backup left of " + lost.id()).contains(prefix + "blockmap").hasSizeGreaterThan(1);
        }
    }

    /**
     * A backup whose manifest the store refuses fails, and leaves what a failed backup leaves. Its
     * block map (a logical one's end mark), written just before, stayed: the directory was taken
     * for a backup that lost its manifest, listed DAMAGED, verify exited 15, and no backup or
     * expire removed it. The block map now goes with the failure. (A failed logical backup removes
     * its whole directory, end mark included: checked here too.)
     */
    @Test
    void aBackupWhoseManifestTheStoreRefuses_leavesAnOrdinaryLeftover_thatTheNextBackupRemoves() throws Exception {
        String location = s3.location(BUCKET, "clusters/manifest-refused");
        LocalCluster c = pg.start("manifest-refused-source", LogicalSupport.serverMajor()); // pg_dump's version or older
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 2_000, 10_000, 15, Progress.NONE);
        }
        Pgstrata f = PgSupport.facade();
        String full = backup(location, c, BackupType.FULL).id();
        String logicalFull = f.logicalBackup(new org.pgstrata.api.LogicalBackupRequest(location, PgSupport.conn(c), BackupType.FULL,
                Compression.ZSTD, 1, null)).id();
        try (Connection conn = PgSupport.connect(c)) {
            Books.mutate(conn, 100, 100, 50, 16);
        }
        s3.refusePutsOf("/manifest");
        try {
            assertThatThrownBy(() -> backup(location, c, BackupType.INCR)).isInstanceOf(PgstrataException.class)
                    .hasMessageContaining("write manifest of");
            assertThatThrownBy(() -> f.logicalBackup(new org.pgstrata.api.LogicalBackupRequest(location, PgSupport.conn(c), BackupType.DIFF,
                    Compression.ZSTD, 1, null))).isInstanceOf(PgstrataException.class).hasMessageContaining("write manifest of");
        } finally {
            s3.refusePutsOf(null);
        }
        Object[] verify = cli(args(location, "verify"));
        assertThat((int) verify[0]).as(String.valueOf(verify[1])).isZero();
        assertThat((String) verify[1]).contains("incomplete backup").doesNotContain("is missing");

        String incr = backup(location, c, BackupType.INCR).id();
        String diff = f.logicalBackup(new org.pgstrata.api.LogicalBackupRequest(location, PgSupport.conn(c), BackupType.DIFF,
                Compression.ZSTD, 1, null)).id();
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            assertThat(s.list("backup/").stream().map(k -> k.split("/")[1]).distinct()).as("the failed backup is removed").containsExactly(full, incr);
            assertThat(s.list("logical/").stream().map(k -> k.split("/")[1]).distinct()).as("the failed logical backup is removed")
                    .containsExactly(logicalFull, diff);
        }
        assertThat(f.verify(location, null).problems()).isEmpty();
    }

    @Test
    void anObjectDeletedBehindPgstratasBack_isNamedByVerify_andRestoreRefuses() throws Exception {
        String location = s3.location(BUCKET, "clusters/damaged");
        LocalCluster c = booksCluster("damaged-source", 5_000, 11);
        BackupResult b = backup(location, c, BackupType.FULL);
        String victim;
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            // The largest object: the books table's data.
            victim = s.list("backup/" + b.id() + "/").stream().filter(k -> !k.endsWith("manifest"))
                    .max(java.util.Comparator.comparingLong(k -> {
                        try {
                            return s.size(k);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })).orElseThrow();
            s.delete(victim);
        }
        Object[] verify = cli(args(location, "verify"));
        assertThat((int) verify[0]).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat((String) verify[1]).contains(victim.substring(victim.lastIndexOf('/') + 1));

        Path target = dir.resolve("damaged-restore");
        Object[] restore = cli(args(location, "restore", "--to", target.toString()));
        assertThat((int) restore[0]).as(String.valueOf(restore[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(((String) restore[1]).lines().filter(l -> l.startsWith("pgstrata: error:"))).hasSize(1);
        assertThat(!Files.exists(target) || isEmpty(target)).as("restore wrote nothing it would leave behind").isTrue();
    }

    /** Restore checks every object's size from one listing per backup on S3; a shortened object must still be caught there. */
    @Test
    void anObjectShortenedBehindPgstratasBack_isRefusedByRestoreBeforeItWritesAnything() throws Exception {
        String location = s3.location(BUCKET, "clusters/shortened");
        LocalCluster c = booksCluster("shortened-source", 5_000, 12);
        BackupResult b = backup(location, c, BackupType.FULL);
        String victim;
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            java.util.Map<String, Long> sizes = s.listedSizes("backup/" + b.id() + "/").orElseThrow();
            assertThat(sizes.keySet().stream().filter(k -> k.contains("/data/") || k.contains("/bundle/")))
                    .as("enough objects that restore lists them rather than asking each").hasSizeGreaterThanOrEqualTo(8);
            victim = sizes.entrySet().stream().filter(e -> e.getKey().contains("/data/")).max(java.util.Map.Entry.comparingByValue())
                    .orElseThrow().getKey();
            byte[] whole = s.getBytes(victim);
            s.putBytes(victim, java.util.Arrays.copyOf(whole, whole.length / 2));
        }
        Path target = dir.resolve("shortened-restore");
        Object[] restore = cli(args(location, "restore", "--to", target.toString()));
        assertThat((int) restore[0]).as(String.valueOf(restore[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat((String) restore[1]).contains(victim).contains("fewer than the").contains("nothing was written");
        assertThat(!Files.exists(target) || isEmpty(target)).as("restore wrote nothing it would leave behind").isTrue();
    }

    /**
     * Bodies go up unsigned (UnsignedPayloads), so the server stores a body that changed on its way
     * without noticing: pgstrata's own checksums must, at the first read, naming the object.
     */
    @Test
    void aBodyChangedOnItsWayToTheServer_isNamedByVerify_andRestoreRefuses() throws Exception {
        String location = s3.location(BUCKET, "clusters/flipped");
        LocalCluster c = booksCluster("flipped-source", 5_000, 12);
        String changed;
        try (CorruptingRelay relay = CorruptingRelay.to(s3.endpoint(), 64 * 1024)) {
            String throughRelay = new S3Location(BUCKET, "clusters/flipped", relay.endpoint(), S3Server.REGION, true).toString();
            backup(throughRelay, c, BackupType.FULL);
            changed = relay.changed();
        }
        assertThat(changed).as("the relay changed a body").isNotNull();
        String name = java.net.URLDecoder.decode(changed.substring(changed.lastIndexOf('/') + 1).replaceFirst("\\?.*", ""),
                java.nio.charset.StandardCharsets.UTF_8);
        Object[] verify = cli(args(location, "verify"));
        assertThat((int) verify[0]).as(String.valueOf(verify[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat((String) verify[1]).contains(name);

        Path target = dir.resolve("flipped-restore");
        Object[] restore = cli(args(location, "restore", "--to", target.toString()));
        assertThat((int) restore[0]).as(String.valueOf(restore[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
    }

    private static boolean isEmpty(Path p) throws java.io.IOException {
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    /** An encrypted repository on S3: the bucket holds neither the data nor the names; backup, restore and wal get work. */
    @Test
    void anEncryptedRepositoryOnS3_holdsNothingReadable_andRestoresProven() throws Exception {
        String location = s3.location(BUCKET, "clusters/encrypted");
        LocalCluster c = booksCluster("encrypted-source", 5_000, 13);
        PgSupport.sql(c, "CREATE TABLE marker_Zq83_table (note text)", "INSERT INTO marker_Zq83_table SELECT 'Zq83-secret-' || i FROM generate_series(1, 500) i");
        Map<String, String> pass = Map.of("PGSTRATA_CIPHER_PASS", "an S3 passphrase");
        List<String> init = new ArrayList<>(List.of("repo"));
        init.addAll(args(location, "init", "--pgdata", c.pgdata().toString(), "--encrypt"));
        Object[] i = cli(pass, init);
        assertThat((int) i[0]).as(String.valueOf(i[1])).isZero();
        Object[] b = cli(pass, args(location, "backup", "--pgdata", c.pgdata().toString(), "--port", CliBackups.port(c), "--compress", "none"));
        assertThat((int) b[0]).as(String.valueOf(b[1])).isZero();
        ContentChecksum.Result expected;
        try (Connection conn = PgSupport.connect(c)) {
            expected = ContentChecksum.compute(conn);
        }
        try (Storage raw = new S3Storage(S3Location.parse(location))) {
            List<String> keys = raw.list("");
            assertThat(keys.size()).isGreaterThan(5);
            for (String k : keys) {
                assertThat(k).doesNotContain("backup").doesNotContain("pg_control").doesNotContain("16384");
                if (!k.equals("repo.json")) {
                    assertThat(new String(raw.getBytes(k), java.nio.charset.StandardCharsets.ISO_8859_1)).as(k)
                            .doesNotContain("Zq83-secret").doesNotContain("marker_Zq83_table").doesNotContain("PG_VERSION");
                }
            }
        }
        Object[] noPass = cli(args(location, "list"));
        assertThat((int) noPass[0]).as(String.valueOf(noPass[1])).isEqualTo(ErrorCode.CIPHER_PASS_MISSING.exitCode());
        int port = LocalCluster.freePort();
        Object[] r = cli(pass, args(location, "restore", "--to", dir.resolve("encrypted-restore").toString(), "--start", "--port",
                String.valueOf(port)));
        assertThat((int) r[0]).as(String.valueOf(r[1])).isZero();
        LocalCluster restored = pg.trackRestored(dir.resolve("encrypted-restore"), 17);
        try (Connection conn = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(expected);
            assertThat(Amcheck.check(conn)).isEmpty();
        }
        restored.stop();
        assertThat((int) cli(pass, args(location, "verify"))[0]).isZero();
    }

    @Test
    void walPushAndGet_onS3_throughTheCommandLine() throws Exception {
        String location = repo;
        // The newest archived segment comes back byte for byte through wal get.
        PitrTest.waitForArchive(source);
        String name;
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            name = s.list("archive/").stream().map(k -> k.substring(k.lastIndexOf('/') + 1)).filter(n -> n.matches("[0-9A-F]{24}(\\..*)?"))
                    .map(n -> n.substring(0, 24)).max(String::compareTo).orElseThrow();
        }
        Path out = dir.resolve("fetched-" + name);
        List<String> a = new ArrayList<>(List.of("wal", "get"));
        a.addAll(S3Location.parse(location).arguments());
        a.addAll(List.of(name, out.toString()));
        Object[] get = cli(a);
        assertThat((int) get[0]).as(String.valueOf(get[1])).isZero();
        assertThat(Files.size(out)).isEqualTo(16L << 20);
        // A name the archive does not have: restore_command's "not there" (1), not an error.
        a.set(a.size() - 2, "00000009000000FF000000FF");
        Object[] missing = cli(a);
        assertThat((int) missing[0]).as(String.valueOf(missing[1])).isEqualTo(1);
    }

    @Test
    void compare_putsItsRepositoriesOnS3_provesEveryRestore_andRemovesThemAfterwards() throws Exception {
        List<String> a = new ArrayList<>(List.of("compare", "--rows", "3000", "--cycles", "1", "--strategies", "full,reverse", "--json",
                "--pg-version", "17", "--work-dir", dir.resolve("compare-work").toString()));
        a.addAll(s3.arguments(BUCKET, "compare"));
        Object[] r = cli(a);
        assertThat((int) r[0]).as(String.valueOf(r[1])).isZero();
        String out = (String) r[1];
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.substring(out.indexOf('{')));
        assertThat(json.get("strategies")).hasSize(2);
        for (com.fasterxml.jackson.databind.JsonNode row : json.get("strategies")) {
            assertThat(row.get("verified").asBoolean()).as(row.toString()).isTrue();
            assertThat(row.get("repositoryBytes").asLong()).isGreaterThan(100_000);
        }
        try (Storage s = new S3Storage(S3Location.parse(s3.location(BUCKET, "compare")))) {
            assertThat(s.list("")).as("compare removed its repositories").isEmpty();
        }
    }

    @Test
    void archiveAndRestoreCommands_forAnS3Repository_fitPostgreSql15sLimit() {
        String longLocation = new S3Location("a-bucket-name-of-some-length", "tenants/acme-production/clusters/orders-eu-west-1/pg",
                "https://s3-compatible.storage.example.internal:9443", "eu-west-1", true).toString();
        for (String command : List.of(org.pgstrata.wal.WalPush.archiveCommand(longLocation),
                Self.restoreCommand(org.pgstrata.storage.StorageFactory.arguments(longLocation)))) {
            String expanded = command.replace("%%", "%").replace("%p", "pg_wal/000000010000000000000001").replace("%f", "000000010000000000000001");
            assertThat(expanded.length()).as(command).isLessThan(1024);
            assertThat(command).contains("--s3-endpoint https://s3-compatible.storage.example.internal:9443").contains("--s3-path-style")
                    .contains("--s3-region eu-west-1").doesNotContain("AWS_");
        }
    }

    @Test
    void logicalFullAndDifferential_onS3_restoreIntoANewDatabase_provenByContent() throws Exception {
        String location = s3.location(BUCKET, "clusters/logical");
        LocalCluster c = pg.start("logical-source", LogicalSupport.serverMajor());
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 20_000, 10_000, 13, Progress.NONE);
        }
        Pgstrata f = PgSupport.facade();
        var full = f.logicalBackup(new org.pgstrata.api.LogicalBackupRequest(location, PgSupport.conn(c), BackupType.FULL, Compression.ZSTD, 1,
                null));
        try (Connection conn = PgSupport.connect(c)) {
            Books.mutate(conn, 700, 500, 300, 14);
        }
        var diff = f.logicalBackup(new org.pgstrata.api.LogicalBackupRequest(location, PgSupport.conn(c), BackupType.DIFF, Compression.ZSTD, 1,
                null));
        assertThat(diff.reference()).isEqualTo(full.id());
        ContentChecksum.Result expected = LogicalSupport.proof(c, "postgres");
        assertThat(f.verify(location, null).problems()).isEmpty();
        f.logicalRestore(new org.pgstrata.api.LogicalRestoreRequest(location, null, PgSupport.conn(c), "from_s3", false, false, null, 1, null,
                false, false));
        assertThat(LogicalSupport.proof(c, "from_s3")).isEqualTo(expected);
    }

    @Test
    void walReceive_intoS3_archivesEverySegmentItStreams() throws Exception {
        String location = s3.location(BUCKET, "clusters/streamed");
        LocalCluster c = pg.start("streamed-source", 17);
        PgSupport.facade().repoInit(location, c.pgdata());
        org.pgstrata.wal.WalReceiver.Options opts = new org.pgstrata.wal.WalReceiver.Options(location, PgSupport.conn(c), "pgstrata_s3", null,
                Compression.ZSTD);
        String end;
        try (Connection conn = PgSupport.connect(c)) {
            // The slot first: it reserves WAL from now on; the receiver takes it over.
            Db.execute(conn, "SELECT pg_create_physical_replication_slot('pgstrata_s3', true)");
            Books.init(conn);
            Books.populate(conn, 30_000, 10_000, 15, Progress.NONE);
            end = Db.queryString(conn, "SELECT pg_current_wal_lsn()::text");
            Db.execute(conn, "SELECT pg_switch_wal()");
        }
        org.pgstrata.wal.WalReceiver.Result r = new org.pgstrata.wal.WalReceiver(Progress.NONE, () -> false).run(until(opts, end));
        assertThat(r.segments()).isPositive();
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            assertThat(s.list("archive/").stream().filter(k -> k.matches(".*/[0-9A-F]{24}"))).hasSizeGreaterThanOrEqualTo(r.segments());
        }
        assertThat(PgSupport.facade().verify(location, null).problems()).isEmpty();
    }

    private static org.pgstrata.wal.WalReceiver.Options until(org.pgstrata.wal.WalReceiver.Options o, String lsn) {
        return new org.pgstrata.wal.WalReceiver.Options(o.repo(), o.connection(), o.slot(), org.pgstrata.postgres.Lsn.parse(lsn), o.compression());
    }
}
