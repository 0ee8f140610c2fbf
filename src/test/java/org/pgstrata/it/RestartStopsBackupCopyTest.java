package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * The server restarted (pg_ctl restart -m fast) while a physical backup copies its files. The
 * backup can no longer be stopped (its session, and the server's backup state, are gone), so it
 * must fail soon after, not copy the rest of the data directory first (hours on a big cluster)
 * and only then find out at pg_backup_stop; one line, nothing listed, the next backup restores.
 */
class RestartStopsBackupCopyTest extends PgTest {

    @Test
    void fastRestartMidCopy_endsTheBackupWithinSeconds() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path repo = dir.resolve("repo");
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 800_000, 50_000, 1, Progress.NONE);
        }
        BackupResult earlier = PgSupport.fullBackup(repo, source);
        int port = PgSupport.conn(source).port();

        // A slow full (one job, zstd level 19) in another JVM; once it copies, the server restarts.
        Process child = ChildCli.start(Map.of(), List.of(), "backup", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(),
                "--port", Integer.toString(port), "--type", "full", "--jobs", "1", "--compress-level", "19");
        List<String> lines = new ArrayList<>();
        CountDownLatch copying = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                    if (line.contains("copying")) {
                        copying.countDown();
                    }
                }
            } catch (java.io.IOException e) {
                // the child ended
            }
        });
        reader.start();
        assertThat(copying.await(120, TimeUnit.SECONDS)).as("child output: %s", lines).isTrue();
        source.stop(); // fast shutdown
        source.start(port);
        long restarted = System.nanoTime();
        assertThat(child.waitFor(600, TimeUnit.SECONDS)).as("the backup ended").isTrue();
        double after = (System.nanoTime() - restarted) / 1e9;
        reader.join(10_000);

        List<String> errors;
        synchronized (lines) {
            errors = lines.stream().filter(l -> l.startsWith("pgstrata: error:")).toList();
            assertThat(lines).as("no stack trace").noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));
        }
        assertThat(errors).as("output: %s", lines).hasSize(1);
        assertThat(errors.get(0)).contains("; hint: ");
        // The session lost, as when the connection breaks: exit 16, not 19 ("a local server failed") with "see the server log"
        assertThat(child.exitValue()).as("output: %s", lines).isEqualTo(org.pgstrata.api.ErrorCode.CONNECTION.exitCode());
        assertThat(errors.get(0)).doesNotContain("see the server log");
        // Without the check the copy went on for the whole data directory (over a minute here at level 19).
        assertThat(after).as("seconds from the restart to the end of the backup; output: %s", lines).isLessThan(30.0);

        assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(earlier.id());
        ContentChecksum.Result now;
        try (Connection c = PgSupport.connect(source)) {
            now = ContentChecksum.compute(c);
        }
        BackupResult next = PgSupport.fullBackup(repo, source);
        assertThat(PgSupport.facade().verify(repo.toString(), null).ok()).isTrue();
        LocalCluster restored = pg.restoreAndStart(repo, next.id(), "restored", 17);
        try (Connection c = PgSupport.connect(restored)) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(now);
        }
    }
}
