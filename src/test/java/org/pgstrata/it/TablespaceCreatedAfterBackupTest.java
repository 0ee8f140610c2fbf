package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A point-in-time restore on the source's machine, past a CREATE TABLESPACE made after the
 * backup. Recovery creates that tablespace at the location in its WAL record, which is the
 * running source's tablespace, and takes the version directory it finds there: the copy linked
 * itself to the source's files, and a DROP TABLE in the copy deleted the source's table. The
 * restore_command now refuses that segment, so recovery stops before it; a target before the
 * CREATE TABLESPACE still restores.
 */
class TablespaceCreatedAfterBackupTest extends PgTest {

    @Test
    void pointInTimeRestore_pastACreateTablespace_stopsBeforeWritingIntoTheSourcesTablespace() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE a WITH (autovacuum_enabled = off) AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "UPDATE a SET v = 'after the backup' WHERE id % 10 = 0");
        Map<String, ContentChecksum.Result> beforeTablespace = ClusterContent.of(source);
        String lsnBefore = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");

        Path location = Files.createDirectory(dir.resolve("late ts $(id) `id` ü"));
        PgSupport.sql(source, "CREATE TABLESPACE late LOCATION '" + location + "'",
                "CREATE TABLE lt WITH (autovacuum_enabled = off) TABLESPACE late AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g",
                "VACUUM lt", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        assertThat(sourceContent).isNotEqualTo(beforeTablespace);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, String> sourceFiles = PgSupport.snapshot(location);

        // To the end of the archive: refused before the CREATE TABLESPACE is replayed
        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target", "latest", "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        if (Files.isRegularFile(copy.resolve("PG_VERSION"))) {
            LocalCluster restored = pg.trackRestored(copy, 17);
            if (r.exitCode() == 0) {
                // What the copy did to the source before: its DROP TABLE removed the source's file
                PgSupport.sql(restored, "DROP TABLE lt", "CHECKPOINT");
            }
        }
        assertThat(ClusterContent.of(source)).as("the source's content after the restore").isEqualTo(sourceContent);
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(34);
        assertThat(r.errLines()).singleElement().asString()
                .contains("creates tablespace", location.toString(), "holds another cluster's tablespace", "PG_17_", "--target-lsn");
        try (var links = Files.list(copy.resolve("pg_tblspc"))) {
            assertThat(links.toList()).as("the copy's tablespace links").isEmpty();
        }

        // To a point before the CREATE TABLESPACE (in the same segment): restored, and proven
        CliBackups.Restored before = CliBackups.restore(pg, repo, dir.resolve("before"), 17, "--target-lsn", lsnBefore);
        assertThat(ClusterContent.of(before.cluster())).isEqualTo(beforeTablespace);
        assertThat(ClusterContent.amcheck(before.cluster())).isEmpty();
        assertThat(PgSupport.snapshot(location)).isEqualTo(sourceFiles);

        // The refused copy, started by hand, says why in one line
        CliRun again = CliRun.run("cluster", "start", "--pgdata", copy.toString());
        assertThat(again.exitCode()).as(again.err()).isNotZero();
        assertThat(again.errLines()).singleElement().asString().contains("holds another cluster's tablespace");
        assertThat(PgSupport.snapshot(location)).isEqualTo(sourceFiles);

        // The hint's last way: no server uses the directory (the source stopped) and its version directory is moved aside;
        // the copy then recovers to the end, its new tablespace in that directory
        source.stop();
        Path versionDir;
        try (var s = Files.list(location)) {
            versionDir = s.filter(p -> p.getFileName().toString().startsWith("PG_17_")).findFirst().orElseThrow();
        }
        Files.move(versionDir, dir.resolve("aside"));
        CliRun started = CliRun.run("cluster", "start", "--pgdata", copy.toString());
        assertThat(started.exitCode()).as(started.err()).isZero();
        LocalCluster recovered = pg.trackRestored(copy, 17);
        for (int i = 0; i < 600 && !"f".equals(PgSupport.queryString(recovered, "SELECT pg_is_in_recovery()")); i++) {
            Thread.sleep(100);
        }
        assertThat(ClusterContent.of(recovered)).isEqualTo(sourceContent);
        assertThat(ClusterContent.amcheck(recovered)).isEmpty();
        assertThat(Files.isSameFile(copy.resolve("pg_tblspc").resolve(PgSupport.queryString(recovered,
                "SELECT oid FROM pg_tablespace WHERE spcname = 'late'")), location)).isTrue();
    }

    /**
     * A CREATE TABLESPACE run while a backup is taken, on a cluster without a WAL archive: the
     * backup's own WAL creates it, and a copy replays that WAL from pg_wal, without asking
     * restore_command. The restore refuses before the copy starts, and leaves nothing.
     */
    @Test
    void aTablespaceCreatedDuringTheBackup_isRefusedBeforeTheCopyStarts() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        Path location = Files.createDirectory(dir.resolve("during ts"));
        backupDuringCreateTablespace(source, repo, location, dir.resolve("resume"));
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, String> sourceFiles = PgSupport.snapshot(location);

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        if (r.exitCode() == 0) {
            PgSupport.sql(pg.trackRestored(copy, 17), "DROP TABLE lt", "CHECKPOINT");
        }
        assertThat(ClusterContent.of(source)).as("the source's content after the restore").isEqualTo(sourceContent);
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(34);
        assertThat(r.errLines()).singleElement().asString()
                .contains("its own WAL", "creates tablespace", location.toString(), "holds another cluster's tablespace", "nothing was left");
        assertThat(copy).doesNotExist();
    }

    /**
     * Backs {@code source} up into {@code repo} (the CLI, in another JVM) with a CREATE TABLESPACE
     * at {@code location} and a table in it, run while the backup copies files (it pauses until
     * {@code resume} exists); {@code args} go to the backup.
     */
    static void backupDuringCreateTablespace(LocalCluster source, Path repo, Path location, Path resume, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("backup", "--repo", repo.toString(), "--pgdata",
                source.pgdata().toString(), "--port", CliBackups.port(source), "--jobs", "1"));
        cmd.addAll(java.util.List.of(args));
        Process backup = ChildCli.start(Map.of("PGSTRATA_TEST_PAUSE_AFTER_FILES", "50", "PGSTRATA_TEST_RESUME_FILE", resume.toString()),
                java.util.List.of(), cmd.toArray(String[]::new));
        try {
            ChildCli.awaitLine(backup, "test hook: pausing", 120);
            PgSupport.sql(source, "CREATE TABLESPACE during LOCATION '" + location + "'",
                    "CREATE TABLE lt TABLESPACE during AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g");
            Files.createFile(resume);
            assertThat(backup.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } finally {
            ChildCli.kill(backup);
        }
        assertThat(backup.exitValue()).isZero();
    }
}
