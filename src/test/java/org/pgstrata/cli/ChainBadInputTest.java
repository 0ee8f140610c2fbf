package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;

/**
 * Bad input around incremental chains, through the real command line: a chain with a missing or
 * damaged member is refused before anything is written; an incremental will not build on a
 * backup of another timeline or system, nor on a server whose page LSNs cannot be trusted; a
 * backup others build on is not deleted. Each gets one line, a hint and its own exit code, and
 * the repository still restores the chain afterwards.
 */
class ChainBadInputTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static Path repo;
    static BackupResult full;
    static BackupResult incr1;
    static BackupResult incr2;
    static ContentChecksum.Result atIncr2;
    static final Set<Integer> CODES = new HashSet<>();

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        a = pg.start("a", 17);
        try (Connection c = PgSupport.connect(a)) {
            Books.init(c);
            Books.populate(c, 3_000, 1_000, 1, Progress.NONE);
        }
        repo = dir.resolve("repo");
        full = backup(repo, a, BackupType.FULL);
        PgSupport.sql(a, "UPDATE books SET price = price + 1 WHERE id % 10 = 0");
        incr1 = backup(repo, a, BackupType.INCR);
        PgSupport.sql(a, "DELETE FROM books WHERE id % 10 = 1");
        try (Connection c = PgSupport.connect(a)) {
            atIncr2 = ContentChecksum.compute(c);
        }
        incr2 = backup(repo, a, BackupType.INCR);
        assertThat(incr2.reference()).isEqualTo(incr1.id());
    }

    static BackupResult backup(Path repo, LocalCluster c, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), type, Compression.ZSTD, 2, 0));
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            // Nothing above damaged the real repository: the whole chain still restores with its content.
            LocalCluster restored = pg.restoreAndStart(repo, incr2.id(), "final", 17);
            try (Connection c = PgSupport.connect(restored)) {
                assertThat(ContentChecksum.compute(c).combined()).isEqualTo(atIncr2.combined());
            }
        } finally {
            pg.close();
        }
        // missing member 27, damaged 15, a backup of another system 11, reference off the cluster's history 26, no checksums 20,
        // dependants 28, no such point 17
        assertThat(CODES).as("exit codes seen").containsExactlyInAnyOrder(11, 15, 17, 20, 26, 27, 28);
    }

    private static CliRun expectFailure(ErrorCode code, String... args) {
        return Refusals.expectFailure(CODES, code, args);
    }

    private static Path copyOfRepo(String name) throws Exception {
        return Refusals.copyOfRepo(repo, dir, name);
    }

    /** A restore of the newest incremental from {@code r} fails with {@code code} and writes nothing. */
    private static CliRun restoreRefused(Path r, ErrorCode code, String name) {
        Path target = dir.resolve("target-" + name);
        CliRun run = expectFailure(code, "restore", "-q", "--repo", r.toString(), "--backup", incr2.id(), "--to", target.toString());
        assertThat(target).as("nothing written").doesNotExist();
        return run;
    }

    @Test
    void restore_withAMissingMember_isRefusedBeforeWriting() throws Exception {
        Path r = copyOfRepo("missing");
        PgSupport.deleteTree(r.resolve("backup").resolve(incr1.id()));
        CliRun run = restoreRefused(r, ErrorCode.CHAIN_BROKEN, "missing");
        assertThat(run.err()).contains("backup " + incr1.id() + ", which " + incr2.id() + " is built on, is missing");
    }

    @Test
    void restore_withADamagedMemberManifest_isRefusedBeforeWriting() throws Exception {
        Path r = copyOfRepo("damaged-manifest");
        Path manifest = r.resolve("backup").resolve(incr1.id()).resolve("manifest");
        byte[] bytes = Files.readAllBytes(manifest);
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(manifest, bytes);
        CliRun run = restoreRefused(r, ErrorCode.CORRUPT, "damaged-manifest");
        assertThat(run.err()).contains("backup " + incr1.id() + ", which " + incr2.id() + " is built on, is damaged");
    }

    @Test
    void restore_withATruncatedObjectInTheFull_isRefusedBeforeWriting() throws Exception {
        Path r = copyOfRepo("truncated-object");
        Path biggest;
        try (Stream<Path> s = Files.walk(r.resolve("backup").resolve(full.id()))) {
            biggest = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("manifest"))
                    .max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        try (FileChannel ch = FileChannel.open(biggest, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        CliRun run = restoreRefused(r, ErrorCode.CORRUPT, "truncated-object");
        assertThat(run.err()).contains("that the restore of " + incr2.id() + " needs has").contains("nothing was written");
    }

    @Test
    void incremental_inARepositoryWithABackupOfAnotherSystem_isRefused() throws Exception {
        Path r = copyOfRepo("other-system");
        try (Repository rep = Repository.open(r.toString())) {
            Manifest m = rep.manifest(incr2.id());
            rep.writeManifest(new Manifest(m.formatVersion(), m.id(), m.type(), m.reference(), "1234567890123456789", m.pgVersionNum(),
                    m.timeline(), m.startLsn(), m.stopLsn(), m.startTime(), m.stopTime(), m.compression(), m.backupLabel(),
                    m.tablespaceMap(), m.directories(), m.files(), m.wal(), m.dataBytes(), m.repositoryBytes(), m.pgstrataVersion(),
                    m.walSource(), m.dataChecksums(), m.blockMap(), m.externalConfig(), m.changeSource(), m.lineage()));
        }
        CliRun run = expectFailure(ErrorCode.REPO_MISMATCH, "backup", "-q", "--repo", r.toString(), "--pgdata", a.pgdata().toString(),
                "--port", Integer.toString(PgSupport.conn(a).port()), "--type", "incr");
        assertThat(run.err()).contains("backup " + incr2.id() + " belongs to the cluster with system identifier 1234567890123456789")
                .contains("nothing was done");
        try (Repository rep = Repository.open(r.toString())) {
            assertThat(rep.backups()).as("the other system's backup is not one of this repository's").hasSize(2);
            assertThat(rep.damagedBackups()).containsOnlyKeys(incr2.id());
            assertThat(rep.incompleteBackups()).as("the refused backup left nothing").isEmpty();
        }
    }

    @Test
    void incremental_onAReferenceOfAnotherTimeline_isRefused() throws Exception {
        Path r = copyOfRepo("other-timeline");
        // A copy of the full, recovered and promoted: the same system on timeline 2.
        Path copy = dir.resolve("promoted");
        PgSupport.facade().restore(new RestoreRequest(r.toString(), copy, full.id(), false, null, null, 2));
        int port = LocalCluster.freePort();
        Files.writeString(copy.resolve("postgresql.auto.conf"), "\nport = " + port + "\nrestore_command = 'false'\n"
                + "recovery_target = 'immediate'\nrecovery_target_action = 'promote'\n", StandardOpenOption.APPEND);
        Files.writeString(copy.resolve("recovery.signal"), "");
        LocalCluster promoted = pg.track(new LocalCluster(copy, PgBinaries.resolve(null, 17, PgSupport.env())));
        promoted.start();
        try (Connection c = PgSupport.connect(promoted)) {
            for (int i = 0; i < 300 && "t".equals(Db.queryString(c, "SELECT pg_is_in_recovery()")); i++) {
                Thread.sleep(100);
            }
            Db.execute(c, "CHECKPOINT");
            assertThat(Db.queryString(c, "SELECT timeline_id::text FROM pg_control_checkpoint()")).isEqualTo("2");
        }
        // An incremental builds on the newest backup in the copy's past (the full it came from); refused only when the repository
        // holds none there: here a full of the original taken after the copy left timeline 1, the older chain deleted.
        BackupResult later = backup(r, a, BackupType.FULL);
        PgSupport.facade().delete(r.toString(), full.id(), true);
        CliRun run = expectFailure(ErrorCode.REFERENCE_MISMATCH, "backup", "-q", "--repo", r.toString(), "--pgdata", copy.toString(),
                "--port", Integer.toString(port), "--type", "incr");
        assertThat(run.err()).contains("backup " + later.id() + ", which the incr would build on, is not in this cluster's history: it ends at "
                + later.stopLsn() + " on timeline 1, after the cluster left that timeline at").contains("for timeline 2").contains("--type full");
        promoted.stop();
    }

    @Test
    void incremental_withoutDataChecksums_isRefused() throws Exception {
        LocalCluster plain = pg.track(LocalCluster.init(dir.resolve("no-checksums"), PgBinaries.resolve(null, 17, PgSupport.env()),
                new LocalCluster.InitOptions(LocalCluster.freePort(), "", false)));
        plain.start();
        Path r = dir.resolve("repo-no-checksums");
        backup(r, plain, BackupType.FULL);
        CliRun run = expectFailure(ErrorCode.SERVER_SETTING, "backup", "-q", "--repo", r.toString(), "--pgdata", plain.pgdata().toString(),
                "--port", Integer.toString(PgSupport.conn(plain).port()), "--type", "incr");
        assertThat(run.err()).contains("an incremental needs data checksums").contains("pg_checksums --enable");
        plain.stop();
    }

    @Test
    void restore_stepsBackFurtherThanThePoints_isRefused() {
        Path target = dir.resolve("target-steps");
        CliRun run = expectFailure(ErrorCode.NOT_FOUND, "restore", "-q", "--repo", repo.toString(), "--steps-back", "3",
                "--to", target.toString());
        assertThat(run.err()).contains("has 3 backup(s), so there is no point 3 steps back").contains("--steps-back 0 to 2");
        assertThat(target).doesNotExist();
    }

    @Test
    void delete_ofABackupOthersBuildOn_isRefused() throws Exception {
        Path r = copyOfRepo("delete");
        CliRun run = expectFailure(ErrorCode.HAS_DEPENDANTS, "delete", "-q", "--repo", r.toString(), "--backup", full.id());
        assertThat(run.err()).contains(incr1.id()).contains(incr2.id()).contains("--with-dependants");
        try (Repository rep = Repository.open(r.toString())) {
            assertThat(rep.backups()).hasSize(3);
        }
    }
}
