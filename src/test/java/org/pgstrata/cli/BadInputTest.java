package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.Storage;

/**
 * Every kind of bad input gets one line that says what happened and what to do, its own exit
 * code, and loses nothing in the repository. Run through the real command line.
 */
class BadInputTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static LocalCluster b;
    static Path repoA;
    static String backupA;
    static ContentChecksum.Result contentA;
    static final Set<Integer> CODES = new HashSet<>();

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        a = pg.start("a", 17);
        b = pg.start("b", 17);
        try (Connection c = PgSupport.connect(a)) {
            Books.init(c);
            Books.populate(c, 3_000, 1_000, 1, Progress.NONE);
            contentA = ContentChecksum.compute(c);
        }
        repoA = dir.resolve("repo-a");
        BackupResult r = PgSupport.fullBackup(repoA, a);
        backupA = r.id();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
        // Each case above has its own exit code.
        assertThat(CODES).hasSize(7);
    }

    private static String port(LocalCluster c) {
        return Integer.toString(PgSupport.conn(c).port());
    }

    /** One line on stderr, with the expected code; the repository still holds backup A, intact. */
    private static CliRun expectFailure(ErrorCode code, String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(code.exitCode());
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("hint: ");
        CODES.add(r.exitCode());
        assertRepositoryIntact();
        return r;
    }

    private static void assertRepositoryIntact() {
        CliRun list = CliRun.run("list", "--repo", repoA.toString(), "--json");
        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).contains(backupA);
        CliRun verify = CliRun.run("verify", "-q", "--repo", repoA.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
    }

    @Test
    void restore_intoNonEmptyDirectory_failsWithHint_andLeavesItAlone() throws Exception {
        Path target = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(target.resolve("keep.txt"), "precious");
        CliRun r = expectFailure(ErrorCode.TARGET_NOT_EMPTY, "restore", "-q", "--repo", repoA.toString(), "--to", target.toString());
        assertThat(r.err()).contains(target.toString()).contains("not empty");
        try (Stream<Path> s = Files.list(target)) {
            assertThat(s.toList()).containsExactly(target.resolve("keep.txt"));
        }
        assertThat(Files.readString(target.resolve("keep.txt"))).isEqualTo("precious");
    }

    @Test
    void backup_ofAnotherCluster_intoThisRepository_isRefused() {
        CliRun r = expectFailure(ErrorCode.REPO_MISMATCH, "backup", "-q", "--repo", repoA.toString(), "--pgdata", b.pgdata().toString(),
                "--port", port(b));
        assertThat(r.err()).contains("belongs to the cluster with system identifier").contains("separate repository");
    }

    @Test
    void backup_withAPgdataThatIsNotADataDirectory_isRefused() throws Exception {
        Path notData = Files.createDirectories(dir.resolve("not-data"));
        CliRun r = expectFailure(ErrorCode.NOT_A_DATA_DIR, "backup", "-q", "--repo", repoA.toString(), "--pgdata", notData.toString(),
                "--port", port(a));
        assertThat(r.err()).contains(notData + " is not a PostgreSQL data directory");
    }

    @Test
    void backup_withThePgdataOfAnotherCluster_thanTheConnection_isRefused() {
        CliRun r = expectFailure(ErrorCode.PGDATA_MISMATCH, "backup", "-q", "--repo", repoA.toString(), "--pgdata", b.pgdata().toString(),
                "--port", port(a));
        assertThat(r.err()).contains(b.pgdata().toString()).contains("system identifier");
    }

    @Test
    void secondBackup_whileTheRepositoryIsLocked_failsAtOnce_namingTheHolder() {
        try (Repository repo = Repository.open(repoA.toString());
             Storage.RepositoryLock held = repo.lock("backup", Clock.systemUTC())) {
            CliRun r = expectFailureWhileLocked("backup", "-q", "--repo", repoA.toString(), "--pgdata", a.pgdata().toString(),
                    "--port", port(a));
            assertThat(r.err()).contains("is locked by pgstrata backup (pid " + ProcessHandle.current().pid());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        assertRepositoryIntact();
    }

    /** Like expectFailure, but the repository check must wait until the lock is released. */
    private static CliRun expectFailureWhileLocked(String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.LOCKED.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("hint: ");
        CODES.add(r.exitCode());
        return r;
    }

    @Test
    void corruptObject_isReportedByVerify_andRefusedByRestore() throws Exception {
        // Corrupt a copy of the repository, so the shared one stays intact for the other cases.
        Path copy = dir.resolve("repo-corrupt");
        PgSupport.copyTree(repoA, copy);
        Manifest m;
        try (Repository repo = Repository.open(copy.toString())) {
            m = repo.manifest(backupA);
        }
        var victim = m.files().stream().filter(f -> f.object() != null && f.size() > 100_000).findFirst().orElseThrow();
        Path object = copy.resolve(victim.object().key());
        byte[] bytes = Files.readAllBytes(object);
        bytes[bytes.length / 3] ^= 0x20;
        Files.write(object, bytes);

        CliRun verify = CliRun.run("verify", "-q", "--repo", copy.toString());
        assertThat(verify.exitCode()).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat(verify.out()).contains(victim.object().key());
        assertThat(verify.errLines()).hasSize(1);

        Path target = dir.resolve("from-corrupt");
        CliRun r = expectFailure(ErrorCode.CORRUPT, "restore", "-q", "--repo", copy.toString(), "--to", target.toString());
        assertThat(r.err()).contains(victim.object().key()).contains("checksum").contains("nothing was left");
        assertThat(Files.exists(target)).isFalse();
    }

    @Test
    void refusedConnection_saysWhereItTried() {
        int nothingThere = LocalCluster.freePort();
        CliRun r = expectFailure(ErrorCode.CONNECTION, "backup", "-q", "--repo", repoA.toString(), "--pgdata", a.pgdata().toString(),
                "--port", Integer.toString(nothingThere));
        assertThat(r.err()).contains("cannot connect to postgres@127.0.0.1:" + nothingThere).contains("server is running");
    }

    @Test
    void list_json_hasTheStableFieldNames() throws Exception {
        CliRun r = CliRun.run("list", "--repo", repoA.toString(), "--json");
        JsonNode arr = new ObjectMapper().readTree(r.out());
        assertThat(arr.isArray()).isTrue();
        JsonNode first = arr.get(0);
        List<String> names = new java.util.ArrayList<>();
        first.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("id", "type", "reference", "chain", "startLsn", "stopLsn", "startTime", "stopTime", "dataBytes",
                "repositoryBytes", "status", "encrypted");
        assertThat(first.get("status").asText()).isEqualTo("ok");
        assertThat(first.get("encrypted").asBoolean()).isFalse();
        assertThat(first.get("type").asText()).isEqualTo("full");
        assertThat(first.get("reference").isNull()).isTrue();
        assertThat(first.get("chain").get(0).asText()).isEqualTo(first.get("id").asText());
        assertThat(first.get("repositoryBytes").asLong()).isPositive();
    }

    @Test
    void list_ofADirectoryThatIsNoRepository_saysSo() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("no-repo"));
        CliRun r = CliRun.run("list", "--repo", empty.toString());
        assertThat(r.exitCode()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
        assertThat(r.err()).contains("no pgstrata repository at " + empty);
    }

    @Test
    void restoreOfBackupA_stillEqualsItsContent_afterAllTheAbove() throws Exception {
        LocalCluster restored = pg.restoreAndStart(repoA, backupA, "restored-a", 17);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(contentA);
        }
        restored.stop();
    }
}
