package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.Pgstrata;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;

/**
 * Retention on a filesystem repository that the cluster archives into: expire removes exactly
 * the backups no rule keeps and the WAL before the oldest kept one, never a backup that a kept
 * one needs; what stays verifies and restores, proven by content. Backups are stamped with a
 * clock set days back, so that --retain-days has a certain outcome.
 */
class ExpireTest extends PgTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEGMENT = 16L * 1024 * 1024;

    /** Now, to the second: backups are stamped whole days before it. */
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private final Map<String, Map<String, ContentChecksum.Result>> contentAt = new TreeMap<>();

    @Test
    void retainFull1_removesTheFirstFullWithItsDependants_andTheWalBeforeTheSecondFull() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = archivingSource(repo);
        BackupResult f1 = backup(repo, src, BackupType.FULL, 40, 1);
        BackupResult i1 = backup(repo, src, BackupType.INCR, 35, 2);
        BackupResult d1 = backup(repo, src, BackupType.DIFF, 30, 3);
        BackupResult f2 = backup(repo, src, BackupType.FULL, 20, 4);
        BackupResult i2 = backup(repo, src, BackupType.INCR, 5, 5);
        assertThat(List.of(i1.reference(), d1.reference(), i2.reference())).containsExactly(f1.id(), f1.id(), f2.id());
        PgSupport.sql(src, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        List<String> all = List.of(f1.id(), i1.id(), d1.id(), f2.id(), i2.id());

        // --retain-days 25 keeps F2, I2 (within) and D1 (the newest before): D1 needs F1, so only I1 goes.
        Map<String, Long> treeBefore = PgSupport.fileSizes(repo);
        JsonNode days = dryRun(repo, "--retain-days", "25");
        assertThat(ids(days.get("removed"))).containsExactly(i1.id());
        assertThat(days.get("removed").get(0).get("reason").asText()).contains("stopped before the last 25 days began")
                .contains("older than " + d1.id());
        assertThat(ids(days.get("kept"))).containsExactly(f1.id(), d1.id(), f2.id(), i2.id());
        assertThat(days.get("kept").get(0).get("reason").asText()).isEqualTo("needed to restore " + d1.id());
        assertThat(days.get("kept").get(1).get("reason").asText()).startsWith("the newest backup before the last 25 days");

        // Both rules: a backup either keeps stays.
        JsonNode both = dryRun(repo, "--retain-full", "1", "--retain-days", "25");
        assertThat(ids(both.get("removed"))).containsExactly(i1.id());
        assertThat(both.get("removed").get(0).get("reason").asText()).contains("older than the newest full").contains("older than " + d1.id());

        // --retain-full 1, dry: dependants first, newest first; what would go, said exactly; nothing changes.
        Map<String, Long> archivedBefore = archived(repo);
        long startSegment = segmentOf(f2.startLsn());
        Map<String, Long> oldWal = new TreeMap<>(archivedBefore);
        oldWal.keySet().removeIf(n -> n.endsWith(".history") || segmentNumber(n) >= startSegment);
        assertThat(oldWal).as("WAL archived before the second full").isNotEmpty()
                .containsKey(segmentName(segmentOf(f1.startLsn())));
        assertThat(oldWal.keySet()).anyMatch(n -> n.endsWith(".backup")); // the first full's backup history file
        long oldSegments = oldWal.keySet().stream().filter(n -> !n.endsWith(".backup")).count();
        JsonNode dry = dryRun(repo, "--retain-full", "1");
        assertThat(ids(dry.get("removed"))).containsExactly(d1.id(), i1.id(), f1.id());
        assertThat(dry.get("removed").get(0).get("reason").asText()).isEqualTo("older than the newest full");
        assertThat(ids(dry.get("kept"))).containsExactly(f2.id(), i2.id());
        assertThat(dry.get("walSegments").asLong()).isEqualTo(oldSegments);
        assertThat(dry.get("walOtherFiles").asLong()).isEqualTo(oldWal.size() - oldSegments);
        assertThat(dry.get("walBytes").asLong()).isEqualTo(oldWal.values().stream().mapToLong(Long::longValue).sum());
        assertThat(dry.get("walKeptFrom").asText()).isEqualTo(f2.startLsn());
        long objectBytes = objectBytes(repo, f1.id()) + objectBytes(repo, i1.id()) + objectBytes(repo, d1.id());
        assertThat(dry.get("bytesFreed").asLong()).isEqualTo(objectBytes).isPositive();
        assertThat(PgSupport.fileSizes(repo)).as("the repository after the dry runs").isEqualTo(treeBefore);
        assertThat(listed(repo)).containsExactlyElementsOf(all);

        // The real thing, through the command line.
        CliRun r = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).isEqualTo("removed " + d1.id() + " (diff, stopped " + stopTime(30) + "): older than the newest full");
        assertThat(lines.get(1)).startsWith("removed " + i1.id() + " (incr, ");
        assertThat(lines.get(2)).startsWith("removed " + f1.id() + " (full, ");
        assertThat(lines.get(3)).startsWith("removed 3 backup(s) (").contains(" and " + oldSegments + " WAL segment(s)")
                .contains(" before " + f2.startLsn() + " (").endsWith("; kept 2 backup(s) in " + repo);

        assertThat(listed(repo)).containsExactly(f2.id(), i2.id());
        try (Stream<Path> dirs = Files.list(repo.resolve("backup"))) {
            assertThat(dirs.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(f2.id(), i2.id());
        }
        Map<String, Long> archivedAfter = archived(repo);
        Map<String, Long> expectedArchive = new TreeMap<>(archivedBefore);
        expectedArchive.keySet().removeAll(oldWal.keySet());
        assertThat(archivedAfter).isEqualTo(expectedArchive);
        assertThat(archivedAfter.keySet().iterator().next()).isEqualTo(segmentName(startSegment));
        assertVerified(repo);
        proveRestore(repo, f2.id());
        proveRestore(repo, i2.id());

        // Again: nothing left to remove.
        CliRun again = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1", "-q");
        assertThat(again.out().strip()).isEqualTo("removed 0 backup(s) and 0 WAL segment(s) before " + f2.startLsn()
                + " (0 B); kept 2 backup(s) in " + repo);
    }

    @Test
    void reverseDeltas_goWhenOutside_butNeverWhileAKeptBackupNeedsThem() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = archivingSource(repo);
        BackupResult f0 = backup(repo, src, BackupType.FULL, 30, 1);
        BackupResult fa = backup(repo, src, BackupType.REVERSE, 20, 2); // f0 becomes a reverse delta over fa
        BackupResult i1 = backup(repo, src, BackupType.INCR, 15, 3); // on fa
        BackupResult fb = backup(repo, src, BackupType.REVERSE, 10, 4); // fa becomes a reverse delta over fb; i1 still builds on it
        BackupResult i2 = backup(repo, src, BackupType.INCR, 1, 5);
        PgSupport.sql(src, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(src);
        List<BackupInfo> listed = PgSupport.facade().list(repo.toString());
        assertThat(listed).extracting(BackupInfo::id).containsExactly(f0.id(), fa.id(), i1.id(), fb.id(), i2.id());
        assertThat(listed).extracting(BackupInfo::type).containsExactly("reverse", "reverse", "incr", "full", "incr");
        assertThat(listed.get(2).chain()).containsExactly(fb.id(), fa.id(), i1.id());

        // The last 12 days: fb and i2, and i1, the newest before them. i1 is built on fa, a reverse delta over fb:
        // fa is older than i1 and outside the window, and stays because i1 needs it. Only f0 goes, with the WAL before fa.
        ExpireResult days = at(now).expire(new ExpireRequest(repo.toString(), null, 12, null, false));
        assertThat(days.removed()).extracting(ExpireResult.Backup::id).containsExactly(f0.id());
        assertThat(days.kept()).extracting(ExpireResult.Backup::id).containsExactly(fa.id(), i1.id(), fb.id(), i2.id());
        assertThat(days.kept().get(0).reason()).isEqualTo("needed to restore " + i1.id());
        assertThat(days.walKeptFrom()).isEqualTo(fa.startLsn());
        assertThat(days.walSegments()).isPositive();
        assertThat(listed(repo)).containsExactly(fa.id(), i1.id(), fb.id(), i2.id());
        assertThat(archived(repo).keySet().stream().filter(n -> !n.endsWith(".history")).mapToLong(ExpireTest::segmentNumber).min())
                .hasValue(segmentOf(fa.startLsn()));
        assertNoUnreadObjects(repo);
        assertVerified(repo);
        proveRestore(repo, i1.id()); // i1 > fa > fb: every member it needs is there

        // One full: fb and i2 stay; i1 and the reverse delta it builds on go, i1 first.
        ExpireResult full = at(now).expire(new ExpireRequest(repo.toString(), 1, null, null, false));
        assertThat(full.removed()).extracting(ExpireResult.Backup::id).containsExactly(i1.id(), fa.id());
        assertThat(full.kept()).extracting(ExpireResult.Backup::id).containsExactly(fb.id(), i2.id());
        assertThat(listed(repo)).containsExactly(fb.id(), i2.id());
        assertNoUnreadObjects(repo);
        assertVerified(repo);
        proveRestore(repo, fb.id());
        proveRestore(repo, i2.id());
    }

    // ---- the source and its backups

    private LocalCluster archivingSource(Path repo) throws Exception {
        LocalCluster src = pg.archiving("src", repo);
        assertThat(PgSupport.queryString(src, "SHOW wal_segment_size")).isEqualTo("16MB");
        try (Connection c = PgSupport.connect(src)) {
            Books.init(c);
            Books.populate(c, 3_000, 1_000, 1, Progress.NONE);
        }
        return src;
    }

    /** Changes the books, notes the content, and backs up with the clock set {@code daysAgo} days back. */
    private BackupResult backup(Path repo, LocalCluster src, BackupType type, int daysAgo, long seed) throws Exception {
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 100, 50, seed);
        }
        Map<String, ContentChecksum.Result> content = ClusterContent.of(src);
        BackupResult b = at(now.minus(Duration.ofDays(daysAgo))).backup(new BackupRequest(repo.toString(), src.pgdata(), PgSupport.conn(src),
                type, Compression.ZSTD, 2, 0));
        contentAt.put(b.id(), content);
        return b;
    }

    private static Pgstrata at(Instant instant) {
        return new Pgstrata(Clock.fixed(instant, ZoneOffset.UTC), Progress.NONE, PgSupport.env());
    }

    private String stopTime(int daysAgo) {
        return now.minus(Duration.ofDays(daysAgo)).toString();
    }

    // ---- what the repository holds

    private static JsonNode dryRun(Path repo, String... rule) throws Exception {
        List<String> args = new ArrayList<>(List.of("expire", "--repo", repo.toString(), "--dry-run", "--json", "-q"));
        args.addAll(List.of(rule));
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("dryRun").asBoolean()).isTrue();
        return json;
    }

    /** The ids in expire's JSON list of removed or kept backups. */
    static List<String> ids(JsonNode backups) {
        List<String> ids = new ArrayList<>();
        backups.forEach(b -> ids.add(b.get("id").asText()));
        return ids;
    }

    private static List<String> listed(Path repo) {
        return PgSupport.facade().list(repo.toString()).stream().map(BackupInfo::id).toList();
    }

    /** The bytes of a backup's objects: its directory without the manifest. */
    private static long objectBytes(Path repo, String id) throws Exception {
        return PgSupport.fileSizes(repo.resolve("backup").resolve(id)).entrySet().stream().filter(e -> !e.getKey().equals("manifest"))
                .mapToLong(Map.Entry::getValue).sum();
    }

    /** Archived WAL files by name (an object's key is its name), with their stored size. */
    private static Map<String, Long> archived(Path repo) throws Exception {
        Map<String, Long> names = new TreeMap<>();
        PgSupport.fileSizes(repo.resolve("archive")).forEach((path, size) -> names.put(Path.of(path).getFileName().toString(), size));
        return names;
    }

    /** The segment number of an archived segment, .partial or .backup file, whatever its timeline. */
    private static long segmentNumber(String name) {
        return Long.parseLong(name.substring(8, 16), 16) * 256 + Long.parseLong(name.substring(16, 24), 16);
    }

    /** The name of segment {@code segno} on timeline 1 (16 MiB segments: 256 to a log id). */
    private static String segmentName(long segno) {
        return String.format("%08X%08X%08X", 1, segno / 256, segno % 256);
    }

    private static long segmentOf(String lsn) {
        String[] parts = lsn.split("/");
        return ((Long.parseLong(parts[0], 16) << 32) | Long.parseLong(parts[1], 16)) / SEGMENT;
    }

    private static void assertNoUnreadObjects(Path repo) throws Exception {
        try (Repository r = Repository.open(repo.toString())) {
            List<String> objects = r.storage().list(Repository.BACKUP_PREFIX).stream()
                    .filter(k -> !k.endsWith("/" + Repository.MANIFEST_NAME)).toList();
            assertThat(objects).as("objects under backup/ that no manifest reads").containsExactlyInAnyOrderElementsOf(r.referencedKeys());
        }
    }

    private static void assertVerified(Path repo) {
        VerifyResult v = PgSupport.facade().verify(repo.toString(), null);
        assertThat(v.problems()).isEmpty();
        assertThat(v.incomplete()).isEmpty();
    }

    private void proveRestore(Path repo, String id) throws Exception {
        String name = "restore-" + id;
        LocalCluster restored = pg.restoreAndStart(repo, id, name, 17);
        assertThat(ClusterContent.of(restored)).as("content of %s", id).isEqualTo(contentAt.get(id));
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of %s", id).isEmpty();
        restored.stopImmediately();
        PgSupport.deleteTree(dir.resolve(name));
    }
}
