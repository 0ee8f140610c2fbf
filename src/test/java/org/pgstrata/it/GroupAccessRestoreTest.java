package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster with group access (initdb -g: data directory 0750, files 0640), which lets a member
 * of its group (a backup user, a monitoring agent) read it. Its restored copy had every file and
 * directory back with the group's bits except the data directory itself, which restore made 0700:
 * PostgreSQL takes the mode of everything it creates from that directory's, so the copy ran
 * without group access (data_directory_mode 0700) and the group could no longer enter it; a delta
 * restore in place took group access away from the cluster itself in the same way. The WAL it put into pg_wal was
 * 0600 too, and PostgreSQL recycles a segment under a new name with its mode: the group could not read those.
 */
class GroupAccessRestoreTest extends PgTest {

    @Test
    void aClusterWithGroupAccess_isRestoredWithGroupAccess_intoANewDirectoryAndInPlace() throws Exception {
        LocalCluster src = pg.start("src", 17);
        src.stop();
        // What initdb -g makes: every directory rwxr-x---, every file rw-r-----
        try (Stream<Path> all = Files.walk(src.pgdata())) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-x---" : "rw-r-----"));
            }
        }
        src.start();
        assertThat(PgSupport.queryString(src, "SHOW data_directory_mode")).isEqualTo("0750");
        PgSupport.sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        Path repo = dir.resolve("repo");
        CliBackups.backupId(repo, src, "full");
        Map<String, ContentChecksum.Result> atBackup = ClusterContent.of(src);

        Path copy = dir.resolve("copy");
        ChildCli.Finished r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--repo", repo.toString(), "--to",
                copy.toString(), "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(ClusterContent.proof(restored)).isEqualTo(atBackup);
        assertThat(mode(copy)).isEqualTo("rwxr-x---");
        assertThat(PgSupport.queryString(restored, "SHOW data_directory_mode")).isEqualTo("0750");
        restored.stop();

        // Every file the restore writes has the group's read bit, as the server's own would: the WAL in pg_wal, which the
        // server recycles under new names with their mode, backup_label and recovery.signal
        Path stopped = dir.resolve("stopped");
        r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--repo", repo.toString(), "--to", stopped.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        try (Stream<Path> all = Files.walk(stopped)) {
            for (Path p : all.toList()) {
                assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwxr-x---" : "rw-r-----");
            }
        }

        PgSupport.sql(src, "UPDATE t SET v = 'changed' WHERE id % 2 = 0");
        src.stop();
        r = ChildCli.run(Map.of(), java.util.List.of(), 180, "restore", "-q", "--delta", "--repo", repo.toString(), "--to",
                src.pgdata().toString(), "--start", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(ClusterContent.proof(src)).isEqualTo(atBackup);
        assertThat(mode(src.pgdata())).isEqualTo("rwxr-x---");
        assertThat(PgSupport.queryString(src, "SHOW data_directory_mode")).isEqualTo("0750");
    }

    private static String mode(Path p) throws java.io.IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
