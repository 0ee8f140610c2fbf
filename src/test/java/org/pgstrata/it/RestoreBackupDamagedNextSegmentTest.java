package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;

/**
 * A restore of a backup to its own consistency point (no target: recovery_target = immediate)
 * needs no WAL after the backup's own. PostgreSQL's recovery still reads ahead, past the segment
 * switch that ends the backup, and asks restore_command for the next segment: when that one was
 * damaged in the archive, wal get stopped recovery (exit 126) and the restore failed (exit 15,
 * after writing every file), although verify rightly found the backup whole. The next segment is
 * now answered "not archived" to a recovery whose bound lies before it, which ends the read-ahead
 * there: the restore proves the backup's content. A copy asked to recover further (the target
 * taken out) still stops at the damage.
 */
class RestoreBackupDamagedNextSegmentTest extends PgTest {

    @Test
    void aDamagedSegmentJustAfterTheBackupsOwnWal_doesNotStopARestoreToTheBackup() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        String full = CliBackups.backupId(repo, src, "full");
        var atBackup = ClusterContent.of(src);
        String next;
        try (Connection c = PgSupport.connect(src)) {
            next = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            Books.mutate(c, 100, 200, 50, 1);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        assertThat(ClusterContent.of(src)).as("the proof sees the change after the backup").isNotEqualTo(atBackup);
        Path victim;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            victim = s.filter(p -> p.getFileName().toString().equals(next)).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(victim);
        b[b.length / 2] ^= (byte) 0xff;
        Files.write(victim, b);

        CliBackups.Restored r = CliBackups.restore(pg, repo, dir.resolve("copy"), 17, "--backup", full);
        assertThat(ClusterContent.of(r.cluster())).isEqualTo(atBackup);
        assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();

        // The bound holds only while the data directory still sets the target it comes from.
        String stop = r.result().get("stoppedAtLsn").asText();
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("PG_VERSION"), "17\n");
        Files.createDirectories(data.resolve("pg_wal"));
        Files.writeString(data.resolve("postgresql.auto.conf"), "recovery_target = 'immediate'\n");
        String[] get = {"wal", "get", "--repo", repo.toString(), "--replay-until", stop, "--replay-target", "recovery_target=immediate",
                next, data.resolve("pg_wal/RECOVERYXLOG").toString()};
        java.io.ByteArrayOutputStream said = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stderr = System.err;
        System.setErr(new java.io.PrintStream(said, true, java.nio.charset.StandardCharsets.UTF_8)); // wal get writes there, as for PostgreSQL
        CliRun bounded;
        try {
            bounded = CliRun.run(get);
        } finally {
            System.setErr(stderr);
        }
        String warning = said.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(bounded.exitCode()).as(warning).isEqualTo(1);
        assertThat(warning).contains("warning: archived WAL " + next + " in ").contains("is damaged; this recovery stops before it");
        assertThat(data.resolve("pg_wal/RECOVERYXLOG")).doesNotExist();
        Files.writeString(data.resolve("postgresql.auto.conf"), "recovery_target = ''\n");
        CliRun further = CliRun.run(get);
        assertThat(further.exitCode()).as("a copy that recovers further stops at the damage: " + further.err()).isEqualTo(126);
    }
}
