package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.Storage;

/**
 * Bad input to expire, through the real command line, on a repository of two fulls that
 * --retain-full 1 would thin: each refusal is one line with a hint and its own exit code, and
 * removes nothing.
 */
class ExpireBadInputTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static Path repo;
    static List<String> backups;
    static final Set<Integer> CODES = new HashSet<>();

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        LocalCluster a = pg.start("a", 17);
        try (Connection c = PgSupport.connect(a)) {
            Books.init(c);
            Books.populate(c, 1_000, 1_000, 1, Progress.NONE);
        }
        repo = dir.resolve("repo");
        PgSupport.fullBackup(repo, a);
        PgSupport.fullBackup(repo, a);
        backups = listed();
        assertThat(backups).hasSize(2);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
        assertThat(CODES).containsExactlyInAnyOrder(2, 14, 17);
    }

    private static List<String> listed() {
        return PgSupport.facade().list(repo.toString()).stream().map(BackupInfo::id).toList();
    }

    private static CliRun refused(ErrorCode code, String... args) {
        CliRun r = Refusals.expectFailure(CODES, code, args);
        assertThat(listed()).as("backups after a refused expire").isEqualTo(backups);
        return r;
    }

    @Test
    void noRetentionRule_isAUsageError_namingTheRules() {
        CliRun r = refused(ErrorCode.USAGE, "expire", "--repo", repo.toString());
        assertThat(r.errLines().get(0)).isEqualTo("pgstrata: error: expire needs a retention rule, and none was given; hint: pass "
                + "--retain-full N (keep the N newest fulls), --retain-days D or --retain-logical N; see 'pgstrata expire --help'");
        refused(ErrorCode.USAGE, "expire", "--repo", repo.toString(), "--dry-run");
    }

    @Test
    void zeroOrNegativeCounts_areUsageErrors() {
        CliRun full = refused(ErrorCode.USAGE, "expire", "--repo", repo.toString(), "--retain-full", "0");
        assertThat(full.errLines().get(0)).startsWith("pgstrata: error: --retain-full must be at least 1, not 0; hint: ");
        CliRun days = refused(ErrorCode.USAGE, "expire", "--repo", repo.toString(), "--retain-days", "-3");
        assertThat(days.errLines().get(0)).startsWith("pgstrata: error: --retain-days must be at least 1, not -3; hint: ");
        refused(ErrorCode.USAGE, "expire", "--repo", repo.toString(), "--retain-full", "1", "--retain-logical", "0");
        CliRun word = refused(ErrorCode.USAGE, "expire", "--repo", repo.toString(), "--retain-full", "two");
        assertThat(word.errLines().get(0)).contains("'two'").contains("hint: see 'pgstrata expire --help'");
    }

    @Test
    void missingRepository_isNotFound_andCreatesNothing() {
        Path missing = dir.resolve("no-such-repo");
        CliRun r = refused(ErrorCode.NOT_FOUND, "expire", "--repo", missing.toString(), "--retain-full", "1");
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: no pgstrata repository at " + missing);
        assertThat(missing).doesNotExist();
    }

    @Test
    void lockedRepository_isRefusedNamingTheHolder_butADryRunStillAnswers() throws Exception {
        try (Repository r = Repository.open(repo.toString()); Storage.RepositoryLock lock = r.lock("backup", Clock.systemUTC())) {
            CliRun locked = refused(ErrorCode.LOCKED, "expire", "--repo", repo.toString(), "--retain-full", "1");
            assertThat(locked.errLines().get(0)).contains("pgstrata backup (pid " + ProcessHandle.current().pid());
            CliRun dry = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "--dry-run", "-q");
            assertThat(dry.exitCode()).as(dry.err()).isZero();
            assertThat(dry.out()).startsWith("would remove " + backups.get(0) + " (full, ");
        }
        assertThat(listed()).isEqualTo(backups);
    }
}
