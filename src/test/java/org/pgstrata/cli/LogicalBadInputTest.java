package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.it.LogicalSupport;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.Repository;

/**
 * Bad input to logical backups and restores, through the real command line: no pg_dump, a
 * pg_dump older than the server, a target database that exists, a differential whose full is
 * missing or damaged, a full others build on, a table the backup lacks. Each gets one line with a
 * hint and its own exit code, and nothing is lost or left behind: no half-restored database, no
 * half-written backup, and the repository still verifies.
 */
class LogicalBadInputTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static String port;
    static Path repo;
    static LogicalBackupResult full;
    static LogicalBackupResult diff;
    static ContentChecksum.Result atDiff;
    static ContentChecksum.Result atFull;
    static final Set<Integer> CODES = new HashSet<>();

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        a = pg.start("a", LogicalSupport.serverMajor());
        port = Integer.toString(PgSupport.conn(a).port());
        PgSupport.sql(a, "CREATE DATABASE src");
        try (Connection c = Db.connect(LogicalSupport.conn(a, "src"))) {
            Books.init(c);
            Books.populate(c, 2_000, 1_000, 3, Progress.NONE);
        }
        repo = dir.resolve("repo");
        atFull = LogicalSupport.proof(a, "src");
        full = backup(repo, BackupType.FULL);
        try (Connection c = Db.connect(LogicalSupport.conn(a, "src"))) {
            Books.mutate(c, 50, 20, 10, 5);
        }
        atDiff = LogicalSupport.proof(a, "src");
        diff = backup(repo, BackupType.DIFF);
    }

    static LogicalBackupResult backup(Path r, BackupType type) {
        return PgSupport.facade().logicalBackup(new LogicalBackupRequest(r.toString(), LogicalSupport.conn(a, "src"), type, Compression.ZSTD, 1, null));
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            assertThat(CODES).as("exit codes seen").containsExactlyInAnyOrder(2, 10, 15, 17, 18, 27, 28, 29);
            // Nothing above damaged the real repository: it verifies, and the differential still restores.
            assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
            CliRun ok = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", diff.id(), "--to-db", "final", "--port", port);
            assertThat(ok.exitCode()).as(ok.err()).isZero();
            assertThat(LogicalSupport.proof(a, "final")).isEqualTo(atDiff);
            assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
        } finally {
            pg.close();
        }
    }

    private static CliRun expectFailure(ErrorCode code, String... args) {
        return Refusals.expectFailure(CODES, code, args);
    }

    private static Path copyOfRepo(String name) throws Exception {
        return Refusals.copyOfRepo(repo, dir, name);
    }

    private static Set<String> logicalIds(Path r) {
        try (Repository rep = Repository.open(r.toString())) {
            return rep.logicalIds();
        }
    }

    private static void flipByteInTheMiddle(Path file) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = ch.size() / 2;
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x5A));
            b.rewind();
            ch.write(b, at);
        }
    }

    @Test
    void backup_withNoPgDump_saysWhereItLookedAndWhatToInstall() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("no-client-bin"));
        Set<String> before = logicalIds(repo);
        CliRun r = expectFailure(ErrorCode.BINARIES, "backup", "-q", "--logical", "--repo", repo.toString(), "--type", "full", "--port", port,
                "-d", "src", "--pg-bin", empty.toString());
        assertThat(r.err()).contains("no pg_dump in " + empty).contains("postgresql-client-" + LogicalSupport.serverMajor());
        assertThat(logicalIds(repo)).isEqualTo(before);

        // and when the search (PATH, the usual directories) finds nothing
        Map<String, String> env = new java.util.HashMap<>(PgSupport.env());
        env.put("PATH", empty.toString());
        env.put("PGSTRATA_PG_INSTALL_ROOTS", empty.toString());
        Pgstrata bare = new Pgstrata(java.time.Clock.systemUTC(), Progress.NONE, env);
        assertThatThrownBy(() -> bare.logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(a, "src"), BackupType.FULL,
                Compression.ZSTD, 1, null)))
                .isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BINARIES))
                .hasMessageContaining("no pg_dump found");
        assertThat(logicalIds(repo)).isEqualTo(before);
    }

    @Test
    void backup_withAPgDumpOlderThanTheServer_namesTheVersionNeeded() throws Exception {
        int clientMajor = LogicalSupport.serverMajor();
        int newer = PgBinaries.BUNDLED_MAJORS.stream().filter(m -> m > clientMajor).findFirst()
                .orElseThrow(() -> new IllegalStateException("no bundled server newer than pg_dump " + clientMajor + " to test with"));
        LocalCluster b = pg.start("newer", newer);
        Path r = dir.resolve("repo-newer");
        CliRun run = expectFailure(ErrorCode.CLIENT_TOO_OLD, "backup", "-q", "--logical", "--repo", r.toString(), "--type", "full",
                "--port", Integer.toString(PgSupport.conn(b).port()), "-d", "postgres",
                "--pg-bin", LogicalSupport.pgDump().program().getParent().toString());
        assertThat(run.err()).contains("older than the server (PostgreSQL " + newer).contains("version " + newer + " or newer is needed");
        assertThat(r).as("no repository was created").doesNotExist();
        b.stopImmediately();
    }

    @Test
    void restore_intoADatabaseThatExists_isRefusedWithoutClean_andReplacesItWithClean() throws Exception {
        PgSupport.sql(a, "CREATE DATABASE taken");
        LogicalSupport.sql(a, "taken", "CREATE TABLE keep_me (x int)", "INSERT INTO keep_me VALUES (42)");
        CliRun r = expectFailure(ErrorCode.TARGET_NOT_EMPTY, "restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "taken",
                "--port", port);
        assertThat(r.err()).contains("database taken already exists").contains("--clean");
        assertThat(LogicalSupport.proof(a, "taken").tables()).extracting(ContentChecksum.TableSum::table).containsExactly("public.keep_me");
        // --create does not make an existing database acceptable either
        expectFailure(ErrorCode.TARGET_NOT_EMPTY, "restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "taken", "--create",
                "--port", port);
        // one table into a database that already has it
        PgSupport.sql(a, "CREATE DATABASE has_books");
        LogicalSupport.sql(a, "has_books", "CREATE TABLE books (id int)");
        CliRun t = expectFailure(ErrorCode.TARGET_NOT_EMPTY, "restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "has_books",
                "--table", "books", "--port", port);
        assertThat(t.err()).contains("table public.books already exists in database has_books");
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();

        CliRun clean = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "taken", "--clean", "--port", port);
        assertThat(clean.exitCode()).as(clean.err()).isZero();
        assertThat(LogicalSupport.proof(a, "taken")).isEqualTo(atDiff);
    }

    @Test
    void restore_ofADifferentialWhoseFullIsMissing_isRefusedBeforeTouchingTheServer() throws Exception {
        Path r = copyOfRepo("full-missing");
        // Gone as a removal leaves it, end mark first (one that keeps its end mark lost its manifest: LogicalManifestLostVerifyTest).
        Files.delete(r.resolve("logical").resolve(full.id()).resolve("end"));
        Files.delete(r.resolve("logical").resolve(full.id()).resolve("manifest"));
        CliRun run = expectFailure(ErrorCode.CHAIN_BROKEN, "restore", "-q", "--logical", "--repo", r.toString(), "--backup", diff.id(),
                "--to-db", "never1", "--port", port);
        assertThat(run.err()).contains("builds on logical full " + full.id() + ", which is not in");
        assertThat(LogicalSupport.databaseExists(a, "never1")).isFalse();
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
    }

    /**
     * The full lost its manifest (its end mark is there): the refusal said the full "is not in" the
     * repository (exit 27), with the hint to take a new full, though its dump is there and putting
     * its manifest back from a copy makes the differential restore. It says the full is damaged,
     * its manifest missing, as a restore of the full itself does (exit 15).
     */
    @Test
    void restore_ofADifferentialWhoseFullLostItsManifest_saysTheFullIsDamaged() throws Exception {
        Path r = copyOfRepo("full-lost-manifest");
        Files.delete(r.resolve("logical").resolve(full.id()).resolve("manifest"));
        CliRun run = expectFailure(ErrorCode.CORRUPT, "restore", "-q", "--logical", "--repo", r.toString(), "--backup", diff.id(),
                "--to-db", "never3", "--port", port);
        assertThat(run.err()).contains("builds on logical full " + full.id() + ", which is damaged")
                .contains("manifest of logical backup " + full.id() + " is missing").contains("back from a copy").doesNotContain("is not in");
        assertThat(LogicalSupport.databaseExists(a, "never3")).isFalse();
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
    }

    @Test
    void restore_ofADifferentialWhoseFullIsDamaged_isRefusedBeforeTouchingTheServer() throws Exception {
        Path r = copyOfRepo("full-damaged");
        LogicalManifest m;
        try (Repository rep = Repository.open(r.toString())) {
            m = rep.logicalManifest(full.id());
        }
        flipByteInTheMiddle(r.resolve(m.dump().get(0).object().key()));
        CliRun run = expectFailure(ErrorCode.CORRUPT, "restore", "-q", "--logical", "--repo", r.toString(), "--backup", diff.id(),
                "--to-db", "never2", "--port", port);
        assertThat(run.err()).contains("backup " + full.id() + " is damaged").contains("nothing was restored");
        assertThat(LogicalSupport.databaseExists(a, "never2")).isFalse();

        // a damaged manifest of the full
        Path r2 = copyOfRepo("full-manifest-damaged");
        flipByteInTheMiddle(r2.resolve("logical").resolve(full.id()).resolve("manifest"));
        CliRun run2 = expectFailure(ErrorCode.CORRUPT, "restore", "-q", "--logical", "--repo", r2.toString(), "--backup", diff.id(),
                "--to-db", "never3", "--port", port);
        assertThat(run2.err()).contains("manifest of logical backup " + full.id() + " is corrupt");
        assertThat(LogicalSupport.databaseExists(a, "never3")).isFalse();
        assertThat(LogicalSupport.leftoverRestoreDatabases(a)).isZero();
    }

    @Test
    void backup_ofADifferentialWhoseKeyIndexIsDamaged_addsNothing() throws Exception {
        Path r = copyOfRepo("index-damaged");
        LogicalManifest m;
        try (Repository rep = Repository.open(r.toString())) {
            m = rep.logicalManifest(full.id());
        }
        Path index = r.resolve(m.table("public", "books").orElseThrow().keyIndex().object().key());
        flipByteInTheMiddle(index);
        Set<String> before = logicalIds(r);
        CliRun run = expectFailure(ErrorCode.CORRUPT, "backup", "-q", "--logical", "--repo", r.toString(), "--type", "diff", "--port", port,
                "-d", "src");
        assertThat(run.err()).contains("the key index of public.books in logical full " + full.id() + " is damaged");
        assertThat(logicalIds(r)).isEqualTo(before);
    }

    @Test
    void delete_ofAFullThatADifferentialBuildsOn_isRefused() {
        CliRun run = expectFailure(ErrorCode.HAS_DEPENDANTS, "delete", "-q", "--repo", repo.toString(), "--backup", full.id());
        assertThat(run.err()).contains(diff.id()).contains("--with-dependants");
        assertThat(logicalIds(repo)).contains(full.id(), diff.id());
    }

    @Test
    void restore_ofATableTheBackupLacks_orOfALogicalBackupAsPhysical_isRefused() {
        CliRun run = expectFailure(ErrorCode.NOT_FOUND, "restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "nope",
                "--table", "no_such_table", "--create", "--port", port);
        assertThat(run.err()).contains("has no table no_such_table").contains("public.books");
        CliRun physical = expectFailure(ErrorCode.NOT_FOUND, "restore", "-q", "--repo", repo.toString(), "--backup", full.id(), "--to",
                dir.resolve("phys").toString());
        assertThat(physical.err()).contains("is a logical backup").contains("restore --logical");
        assertThat(dir.resolve("phys")).doesNotExist();
    }

    @Test
    void restore_logical_takesStepsBack_andRefusesThePhysicalRestoreOptions() throws Exception {
        CliRun back = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--steps-back", "1", "--to-db", "one_back", "--port", port);
        assertThat(back.exitCode()).as(back.err()).isZero();
        assertThat(back.out()).contains("restored logical backup " + full.id());
        assertThat(LogicalSupport.proof(a, "one_back")).isEqualTo(atFull);
        expectFailure(ErrorCode.NOT_FOUND, "restore", "-q", "--logical", "--repo", repo.toString(), "--steps-back", "2", "--to-db", "two_back",
                "--port", port);
        CliRun mixed = expectFailure(ErrorCode.USAGE, "restore", "-q", "--logical", "--repo", repo.toString(), "--to-db", "mixed", "--to",
                dir.resolve("mixed").toString(), "--start", "--port", port);
        assertThat(mixed.err()).contains("--to, --start apply to a physical restore");
        assertThat(LogicalSupport.databaseExists(a, "mixed")).isFalse();
        assertThat(LogicalSupport.databaseExists(a, "two_back")).isFalse();
    }
}
