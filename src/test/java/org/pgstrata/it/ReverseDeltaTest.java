package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * Reverse-delta backups on a real server: the newest backup is always a full, and every older
 * point is reached by stepping back through reverse deltas, each proven by the content of every
 * database and amcheck. A backup killed at each step of the switch leaves a repository that
 * verifies, restores every point it lists, and takes the next reverse backup (invariants 3, 4).
 */
class ReverseDeltaTest extends PgTest {

    private static BackupResult backup(Path repo, LocalCluster c, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo.toString(), c.pgdata(), PgSupport.conn(c), type, Compression.ZSTD, 2, 0));
    }

    private LocalCluster source() throws Exception {
        LocalCluster src = pg.start("src", 17);
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 5_000, 1_000, 1, Progress.NONE);
        }
        PgSupport.sql(src, "VACUUM ANALYZE books");
        return src;
    }

    /** Restores backup {@code id}, proves its content against {@code expected}, and removes the copy. */
    private void proveRestore(Path repo, String id, Map<String, ContentChecksum.Result> expected, String what) throws Exception {
        String name = "restore-" + id + "-" + System.nanoTime();
        LocalCluster restored = pg.restoreAndStart(repo, id, name, 17);
        assertThat(ClusterContent.of(restored)).as("content of %s", what).isEqualTo(expected);
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of %s", what).isEmpty();
        restored.stopImmediately();
        PgSupport.deleteTree(dir.resolve(name));
    }

    @Test
    void theNewestIsAFull_andEveryStepBackRestoresItsContent() throws Exception {
        LocalCluster src = source();
        Path repo = dir.resolve("repo");
        List<String> ids = new ArrayList<>();
        List<Map<String, ContentChecksum.Result>> expected = new ArrayList<>();
        String[][] changes = {
            {},
            {"CREATE TABLE extra (id int PRIMARY KEY, v text)", "INSERT INTO extra SELECT g, md5(g::text) FROM generate_series(1, 4000) g"},
            {"DELETE FROM books WHERE id % 5 = 0", "UPDATE extra SET v = 'changed' WHERE id < 1000"},
            {"TRUNCATE extra", "CREATE TABLE gone (id int PRIMARY KEY)", "INSERT INTO gone SELECT generate_series(1, 500)"},
            {"DROP TABLE gone", "INSERT INTO extra SELECT g, 'back' FROM generate_series(1, 300) g", "VACUUM books"},
        };
        for (int i = 0; i < changes.length; i++) {
            PgSupport.sql(src, changes[i]);
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 200, 100, 50, 10 + i);
            }
            expected.add(ClusterContent.of(src));
            BackupResult b = backup(repo, src, BackupType.REVERSE);
            assertThat(b.type()).as("a reverse backup is a full").isEqualTo("full");
            ids.add(b.id());
        }

        List<BackupInfo> listed = PgSupport.facade().list(repo.toString());
        assertThat(listed).extracting(BackupInfo::type).containsExactly("reverse", "reverse", "reverse", "reverse", "full");
        assertThat(listed.get(0).chain()).containsExactly(ids.get(4), ids.get(3), ids.get(2), ids.get(1), ids.get(0));
        VerifyResult verified = PgSupport.facade().verify(repo.toString(), null);
        assertThat(verified.problems()).isEmpty();
        assertThat(verified.incomplete()).isEmpty();

        // The latest, then each step back.
        for (int steps = 0; steps < ids.size(); steps++) {
            String id = PgSupport.facade().backupStepsBack(repo.toString(), steps);
            int point = ids.size() - 1 - steps;
            assertThat(id).isEqualTo(ids.get(point));
            proveRestore(repo, id, expected.get(point), steps + " steps back");
        }

        // The oldest point can go alone; what the others read stays.
        assertThat(PgSupport.facade().delete(repo.toString(), ids.get(0), false)).containsExactly(ids.get(0));
        assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).isEmpty();
        proveRestore(repo, ids.get(1), expected.get(1), "the oldest remaining point after the expiry");
        proveRestore(repo, ids.get(4), expected.get(4), "the latest after the expiry");
    }

    @Test
    void aReverseBackupKilledAtAnyStep_leavesEveryPointRestorable() throws Exception {
        LocalCluster src = source();
        Path repo = dir.resolve("repo");
        Map<String, Map<String, ContentChecksum.Result>> expected = new HashMap<>();
        BackupResult first = backup(repo, src, BackupType.FULL);
        expected.put(first.id(), ClusterContent.of(src));
        int round = 0;
        for (String step : List.of("pages-read", "full-objects", "full-manifest", "reverse-middle", "reverse-swapped")) {
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 300, 200, 100, 100 + round++);
            }
            Map<String, ContentChecksum.Result> now = ClusterContent.of(src);
            List<String> before = ids(repo);
            Process child = reverseBackupInChild(repo, src, step);
            assertThat(child.waitFor(180, TimeUnit.SECONDS)).isTrue();
            String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(child.exitValue()).as("killed at %s: %s", step, output).isEqualTo(137);
            for (String id : ids(repo)) {
                if (!before.contains(id)) {
                    expected.put(id, now); // its manifest was written before the kill: it holds this point
                }
            }

            VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
            assertThat(v.problems()).as("verify after a kill at %s", step).isEmpty();
            for (String id : ids(repo)) {
                proveRestore(repo, id, expected.get(id), "backup " + id + " after a kill at " + step);
            }

            // The next reverse backup works and takes the same point.
            BackupResult next = backup(repo, src, BackupType.REVERSE);
            expected.put(next.id(), now);
            assertThat(PgSupport.facade().verify(repo.toString(), null).problems()).as("verify after the next backup").isEmpty();
            assertThat(PgSupport.facade().verify(repo.toString(), null).incomplete()).as("left-overs removed").isEmpty();
            assertThat(unreadObjects(repo)).as("objects no manifest reads, after the backup that followed a kill at %s", step).isEmpty();
            proveRestore(repo, next.id(), now, "the reverse backup after a kill at " + step);
        }
        // Every point the repository lists, at the end, still restores.
        for (String id : ids(repo)) {
            proveRestore(repo, id, expected.get(id), "backup " + id + " at the end");
        }
    }

    /** Object files in the repository's backup directories that no manifest reads. */
    private static List<String> unreadObjects(Path repo) throws Exception {
        java.util.Set<String> live;
        try (org.pgstrata.manifest.Repository r = org.pgstrata.manifest.Repository.open(repo.toString())) {
            live = r.referencedKeys();
        }
        try (var walk = Files.walk(repo.resolve("backup"))) {
            return walk.filter(Files::isRegularFile).map(p -> repo.relativize(p).toString())
                    .filter(k -> !k.endsWith("/manifest") && !live.contains(k)).toList();
        }
    }

    private static List<String> ids(Path repo) {
        return PgSupport.facade().list(repo.toString()).stream().map(BackupInfo::id).toList();
    }

    private static Process reverseBackupInChild(Path repo, LocalCluster src, String step) throws Exception {
        List<String> cmd = org.pgstrata.ChildJava.command();
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        if (System.getProperty("pgstrata.pgbin.dir") != null) {
            cmd.add("-Dpgstrata.pgbin.dir=" + System.getProperty("pgstrata.pgbin.dir"));
        }
        cmd.addAll(List.of("org.pgstrata.cli.Main", "backup", "-q", "--repo", repo.toString(), "--pgdata", src.pgdata().toString(),
                "--port", Integer.toString(PgSupport.conn(src).port()), "--type", "reverse"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGSTRATA_TEST_HALT_AT", step);
        Files.createDirectories(repo);
        return pb.start();
    }
}
