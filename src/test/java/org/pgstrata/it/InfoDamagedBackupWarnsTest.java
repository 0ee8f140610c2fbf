package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup whose manifest is damaged is left out of info's windows, and every restore that would
 * choose a backup for a target refuses (exit 15) until it is deleted, since it might be the one to
 * choose. info printed the window as restorable and said nothing of it (list warns); a user who
 * asks info what can be restored, then restores a time in the window, is refused. info now warns
 * as list does, on stderr.
 */
class InfoDamagedBackupWarnsTest extends PgTest {

    @Test
    void aDamagedManifest_isNamedByInfo_asTheRestoresOfItsWindowsRefuse() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archiving("src", repo);
        PgSupport.sql(src, "CREATE TABLE marks (n int)", "INSERT INTO marks VALUES (1)");
        CliBackups.backupId(repo, src, "full");
        String damaged = CliBackups.backupId(repo, src, "full");
        PgSupport.sql(src, "INSERT INTO marks VALUES (2)", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        try (RandomAccessFile f = new RandomAccessFile(repo.resolve("backup").resolve(damaged).resolve("manifest").toFile(), "rw")) {
            f.seek(100);
            f.write("garbage".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }

        CliRun restore = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", dir.resolve("copy").toString(), "--target", "latest");
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(ErrorCode.CORRUPT.exitCode());

        for (String format : new String[] {"--repo", "--json"}) {
            CliRun info = format.equals("--json") ? CliRun.run("info", "--json", "--repo", repo.toString())
                    : CliRun.run("info", "--repo", repo.toString());
            assertThat(info.exitCode()).as(info.err()).isZero();
            assertThat(info.err()).as("info %s, stderr", format).contains("1 backup(s) in " + repo + " cannot be read")
                    .contains(damaged).contains("delete");
        }
    }
}
