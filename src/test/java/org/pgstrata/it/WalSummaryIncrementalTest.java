package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.Repository;
import org.pgstrata.postgres.Lineage;
import org.pgstrata.postgres.Page;
import org.pgstrata.postgres.PageChecksum;

/**
 * Incrementals that read only the blocks PostgreSQL 17+'s WAL summaries name. The summaries are
 * trusted only where they are the whole truth: a summary-based differential must store exactly
 * the blocks a scanned one (every block read and compared) stores, page by page, on random
 * workloads; it must restore to the source's content; and where the summaries cannot be used or
 * are contradicted by what is on disk, the backup scans every block, and says so.
 *
 * <p>{@code -Dpgstrata.summary.tries=N} runs more random workloads (default 2), with
 * {@code -Dpgstrata.summary.seed=S} to replay one.
 */
class WalSummaryIncrementalTest extends PgTest {
    private static final int MAJOR = 17;
    private static final int TRIES = Integer.getInteger("pgstrata.summary.tries", 2);
    private static final java.util.regex.Pattern RELATION = java.util.regex.Pattern.compile(
            "(global|base/\\d+|pg_tblspc/\\d+/[^/]+/\\d+)/\\d+(_(fsm|vm|init))?(\\.\\d+)?");

    @Test
    void aSummaryBasedDifferentialStoresExactlyTheBlocksAScannedOneStores_andRestoresTheSource() throws Exception {
        long firstSeed = Long.getLong("pgstrata.summary.seed", System.nanoTime());
        for (int t = 0; t < TRIES; t++) {
            long seed = firstSeed + t;
            LocalCluster c = pg.start("source-" + t, MAJOR);
            Path repo = dir.resolve("repo-" + t);
            Path tablespace = java.nio.file.Files.createDirectories(dir.resolve("tablespace-" + t));
            PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                    "CREATE TABLESPACE ts LOCATION '" + tablespace + "'",
                    "CREATE TABLE a (id int PRIMARY KEY, v text)", "CREATE TABLE b (id int PRIMARY KEY, v text)",
                    "INSERT INTO a SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 40000) g",
                    "INSERT INTO b SELECT g, md5(g::text) FROM generate_series(1, 30000) g",
                    // c: no random action touches it, so that every story has a file whose unchanged blocks go unread
                    "CREATE TABLE c AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 40000) g",
                    "CREATE DATABASE d1 STRATEGY wal_log", "VACUUM (FREEZE, ANALYZE)", "CHECKPOINT");
            CliBackups.backupId(repo, c, "full");

            Random random = new Random(seed);
            List<String> actions = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String action = randomAction(random, i);
                actions.add(action);
                PgSupport.sql(c, action);
            }
            PgSupport.sql(c, "UPDATE c SET v = 'changed' WHERE id BETWEEN 100 AND 120");
            String story = "seed " + seed + ": " + actions;
            Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);

            String byScan = diff(repo, c, "scan");
            String bySummaries = diff(repo, c, "wal-summary");

            try (Repository r = Repository.open(repo.toString())) {
                Map<String, FileEntry> s = byPath(r.manifest(bySummaries));
                Map<String, FileEntry> f = byPath(r.manifest(byScan));
                assertThat(r.manifest(bySummaries).changeSource()).isEqualTo("wal-summary");
                assertThat(r.manifest(byScan).changeSource()).isEqualTo("scan");
                assertThat(s.keySet()).as(story).isEqualTo(f.keySet());
                // Relation files: nothing wrote to them between the two backups (other files, such as the server log, change)
                for (String path : f.keySet().stream().filter(p -> RELATION.matcher(p).matches()).toList()) {
                    FileEntry a = s.get(path);
                    FileEntry b = f.get(path);
                    assertThat(a.source()).as("%s: how %s is stored", story, path).isEqualTo(b.source());
                    assertThat(a.size()).as("%s: size of %s", story, path).isEqualTo(b.size());
                    assertThat(a.blocks()).as("%s: blocks stored of %s", story, path).isEqualTo(b.blocks());
                }
                assertThat(s.values()).as("%s: files whose unchanged blocks were not read", story)
                        .anyMatch(e -> Checksum.isBlockForm(e.checksum()));
            }
            JsonNode list = CliBackups.run("list", "--json", "--repo", repo.toString());
            assertThat(list.toString()).contains("\"changeSource\":\"wal-summary\"").contains("\"changeSource\":\"scan\"");
            CliBackups.ok("verify", "-q", "--repo", repo.toString());
            LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored-" + t), MAJOR, "--backup", bySummaries).cluster();
            assertThat(ClusterContent.of(restored)).as("content of the summary-based differential, " + story).isEqualTo(proof);
            assertThat(ClusterContent.amcheck(restored)).as("amcheck, " + story).isEmpty();
            restored.stop();

            // An incremental on the summary-based differential: files recorded in block form are its reference now.
            List<String> more = List.of(randomAction(random, 7), randomAction(random, 8));
            PgSupport.sql(c, more.toArray(String[]::new));
            Map<String, ContentChecksum.Result> later = ClusterContent.of(c);
            JsonNode incr = CliBackups.backup(repo, c, "incr");
            assertThat(incr.get("reference").asText()).isEqualTo(bySummaries);
            assertThat(incr.get("changeSource").asText()).as(story + ", then " + more).isEqualTo("wal-summary");
            LocalCluster restoredIncr = CliBackups.restore(pg, repo, dir.resolve("restored-incr-" + t), MAJOR).cluster();
            assertThat(ClusterContent.of(restoredIncr)).as("content of the incremental on it, " + story + ", then " + more).isEqualTo(later);
            assertThat(ClusterContent.amcheck(restoredIncr)).isEmpty();
            restoredIncr.stop();
            c.stop();
        }
    }

    /** One random change: rows, whole tables, maintenance, databases. */
    private static String randomAction(Random random, int i) {
        int lo = 1 + random.nextInt(39_000);
        return switch (random.nextInt(12)) {
            case 9 -> "ALTER TABLE a SET TABLESPACE ts";
            case 10 -> "ALTER TABLE a SET TABLESPACE pg_default";
            case 11 -> "CREATE DATABASE g" + i + " TABLESPACE ts STRATEGY " + (random.nextBoolean() ? "file_copy" : "wal_log");
            case 0 -> "INSERT INTO a SELECT g, md5(g::text) FROM generate_series(" + (100_000 + i * 1000) + ", " + (100_000 + i * 1000 + random.nextInt(900))
                    + ") g";
            case 1 -> "UPDATE a SET v = v || 'u' WHERE id BETWEEN " + lo + " AND " + (lo + random.nextInt(300));
            case 2 -> "DELETE FROM b WHERE id BETWEEN " + lo + " AND " + (lo + random.nextInt(2000));
            case 3 -> "VACUUM b";
            case 4 -> "VACUUM FULL b";
            case 5 -> "CREATE INDEX IF NOT EXISTS a_v_" + i + " ON a (v)";
            case 6 -> "TRUNCATE b; INSERT INTO b SELECT g, md5(g::text) FROM generate_series(1, " + (1000 + random.nextInt(20_000)) + ") g";
            case 7 -> "CREATE DATABASE f" + i + " STRATEGY file_copy";
            default -> "UPDATE b SET v = 'x' WHERE id % " + (50 + random.nextInt(200)) + " = 0";
        };
    }

    private static String diff(Path repo, LocalCluster c, String how) {
        return CliBackups.run("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port",
                CliBackups.port(c), "--type", "diff", "--change-source", how).get("id").asText();
    }

    private static Map<String, FileEntry> byPath(Manifest m) {
        Map<String, FileEntry> files = new TreeMap<>();
        m.files().forEach(f -> files.put(f.path(), f));
        return files;
    }

    /** A table t of 40,000 settled rows in {@code c}, and the id of a full backup of it into {@code repo}. */
    private static String fullOfForty(LocalCluster c, Path repo) throws Exception {
        PgSupport.sql(c, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 40000) g", "VACUUM (FREEZE) t", "CHECKPOINT");
        return CliBackups.backupId(repo, c, "full");
    }

    /**
     * A full restored once (copy a: changed, backed up into the repository on its timeline 2, then
     * given up) and then again, to go on from it (copy b). Copy b took timeline 2 as well, so that
     * its incremental built on copy a's as if a's past were its own, and the WAL summaries (b's
     * changes only) left a's changed pages in it: rows went missing, and verify and amcheck saw
     * nothing. The second copy must take a timeline of its own, and its incremental build on the full
     * it came from, not on copy a's.
     */
    @Test
    void aFullRestoredAgain_afterAnotherCopyOfItWasBackedUp_takesATimelineOfItsOwn() throws Exception {
        LocalCluster c = pg.start("twice", MAJOR);
        Path repo = dir.resolve("repo-twice");
        String full = fullOfForty(c, repo);
        c.stop();

        LocalCluster a = CliBackups.restore(pg, repo, dir.resolve("copy-a"), MAJOR, "--backup", full).cluster();
        PgSupport.sql(a, "UPDATE t SET v = 'a' WHERE id BETWEEN 20000 AND 20300");
        CliBackups.backup(repo, a, "incr");
        a.stop();

        LocalCluster b = CliBackups.restore(pg, repo, dir.resolve("copy-b"), MAJOR, "--backup", full).cluster();
        PgSupport.sql(b, "UPDATE t SET v = 'b' WHERE id BETWEEN 30000 AND 30300",
                "CREATE TABLE filler AS SELECT g FROM generate_series(1, 300000) g", "SELECT pg_switch_wal()");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(b);
        assertThat(PgSupport.queryString(b, "SELECT timeline_id FROM pg_control_checkpoint()")).as("copy b's timeline").isEqualTo("3");
        // Copy a's incremental is not in b's past (it was refused as the reference, exit 26); the full b came from is.
        com.fasterxml.jackson.databind.JsonNode incr = CliBackups.backup(repo, b, "incr");
        assertThat(incr.get("reference").asText()).as("%s", incr).isEqualTo(full);
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored-b"), MAJOR, "--backup", incr.get("id").asText()).cluster();
        assertThat(ClusterContent.of(restored)).as("content of copy b's incremental (%s)", incr).isEqualTo(proof);
    }

    /**
     * A copy restored from the full and started without recovery.signal goes on writing timeline 1
     * from the full's point while the original took an incremental (ChangeDetectionTest backs
     * such a copy up into the original's repository). Its incremental builds on the original's;
     * the copy's WAL summaries name only the copy's changes, so the original's few changed pages
     * (too few for the sample to meet) stayed in the copy's backup: rows went missing.
     */
    @Test
    void aCopyThatKeepsTheTimeline_isNotBackedUpByItsSummariesOverTheOriginalsIncremental() throws Exception {
        LocalCluster c = pg.start("fork", MAJOR);
        Path repo = dir.resolve("repo-fork");
        String full = fullOfForty(c, repo);
        PgSupport.sql(c, "UPDATE t SET v = 'original' WHERE id BETWEEN 20000 AND 20300");
        CliBackups.backup(repo, c, "incr");
        c.stop();

        Path copyDir = dir.resolve("fork-copy");
        CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", copyDir.toString());
        java.nio.file.Files.deleteIfExists(copyDir.resolve("recovery.signal"));
        LocalCluster copy = pg.trackRestored(copyDir, MAJOR);
        copy.start();
        PgSupport.sql(copy, "UPDATE t SET v = 'copy' WHERE id BETWEEN 30000 AND 30300");
        for (int i = 0; i < 3; i++) {
            PgSupport.sql(copy, "CREATE TABLE filler_" + i + " AS SELECT g FROM generate_series(1, 100000) g", "SELECT pg_switch_wal()");
        }
        PgSupport.sql(copy, "CHECKPOINT");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(copy);
        JsonNode incr = CliBackups.backup(repo, copy, "incr");
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("fork-restored"), MAJOR, "--backup", incr.get("id").asText()).cluster();
        assertThat(ClusterContent.of(restored)).as("content of the copy's incremental (%s)", incr).isEqualTo(proof);
        // The copy's lineage is not the original's: every block is compared with the block map instead.
        assertThat(incr.get("changeSource").asText()).as(incr.toString()).isEqualTo("scan");
        assertThat(incr.get("changeSourceNote").asText()).contains("the cluster was restored");
        // and the copy's next incremental, over its own backup, trusts the summaries again.
        PgSupport.sql(copy, "UPDATE t SET v = 'copy again' WHERE id BETWEEN 1000 AND 1100");
        assertThat(CliBackups.backup(repo, copy, "incr").get("changeSource").asText()).isEqualTo("wal-summary");
    }

    /**
     * Two copies of one full, both restored (both ending recovery on timeline 2: neither had a
     * backup in the repository yet) before copy a is backed up. Copy b's timeline history is the
     * same as a's, so its incremental builds on a's; by the WAL summaries it would keep a's
     * changed pages. Each restore gives its copy a lineage of its own, and b's incremental over
     * a's backup compares every block.
     */
    @Test
    void twoCopiesOfOneFull_onTheSameNewTimeline_doNotShareTheirSummaries() throws Exception {
        twoCopiesOfOneFull("pair", false);
    }

    /**
     * The two copies of one full above, and copy b's incremental over copy a's: restored, it must
     * hold b's content (by the summaries it held a's changed pages too), and it compared every
     * block. With {@code unreadable}, neither copy's lineage file can be read.
     */
    private void twoCopiesOfOneFull(String name, boolean unreadable) throws Exception {
        LocalCluster c = pg.start(name, MAJOR);
        Path repo = dir.resolve("repo-" + name);
        String full = fullOfForty(c, repo);
        c.stop();
        LocalCluster a = CliBackups.restore(pg, repo, dir.resolve(name + "-a"), MAJOR, "--backup", full).cluster();
        LocalCluster b = CliBackups.restore(pg, repo, dir.resolve(name + "-b"), MAJOR, "--backup", full).cluster();
        assertThat(PgSupport.queryString(b, "SELECT timeline_id FROM pg_control_checkpoint()"))
                .isEqualTo(PgSupport.queryString(a, "SELECT timeline_id FROM pg_control_checkpoint()"));
        assertThat(Files.readString(a.pgdata().resolve(Lineage.FILE))).isNotEqualTo(Files.readString(b.pgdata().resolve(Lineage.FILE)));
        String lineageOfB = Files.readString(b.pgdata().resolve(Lineage.FILE));
        if (unreadable) {
            for (LocalCluster x : List.of(a, b)) {
                Files.delete(x.pgdata().resolve(Lineage.FILE));
                Files.createDirectory(x.pgdata().resolve(Lineage.FILE));
            }
        }

        PgSupport.sql(a, "UPDATE t SET v = 'a' WHERE id BETWEEN 20000 AND 20300");
        CliBackups.backup(repo, a, "incr");
        a.stop();
        PgSupport.sql(b, "UPDATE t SET v = 'b' WHERE id BETWEEN 30000 AND 30300",
                "CREATE TABLE filler AS SELECT g FROM generate_series(1, 300000) g", "SELECT pg_switch_wal()", "CHECKPOINT");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(b);
        JsonNode incr = CliBackups.backup(repo, b, "incr");
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve(name + "-restored"), MAJOR, "--backup", incr.get("id").asText())
                .cluster();
        assertThat(ClusterContent.of(restored)).as("content of copy b's incremental (%s)", incr).isEqualTo(proof);
        assertThat(incr.get("changeSource").asText()).as(incr.toString()).isEqualTo("scan");
        // The lineage file is the restore's, never a backup's: the copy restored from b's backup has one of its own.
        assertThat(Files.readString(restored.pgdata().resolve(Lineage.FILE))).isNotEqualTo(lineageOfB);
    }

    /** A lineage file the backup cannot read does not fail it: the summaries are not trusted, and it says why. */
    @Test
    void anUnreadableLineageFile_makesTheIncrementalCompareEveryBlock() throws Exception {
        LocalCluster c = pg.start("unreadable", MAJOR);
        Path repo = dir.resolve("repo-unreadable");
        fullOfForty(c, repo);
        Files.createDirectory(c.pgdata().resolve(Lineage.FILE)); // not a file at all
        PgSupport.sql(c, "UPDATE t SET v = 'x' WHERE id BETWEEN 100 AND 200");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);
        JsonNode incr = CliBackups.backup(repo, c, "incr");
        assertThat(incr.get("changeSource").asText()).as(incr.toString()).isEqualTo("scan");
        assertThat(incr.get("changeSourceNote").asText()).contains(Lineage.FILE + " in the data directory cannot be read");
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("unreadable-restored"), MAJOR).cluster();
        assertThat(ClusterContent.of(restored)).isEqualTo(proof);
    }

    /**
     * Two copies of one full on the same new timeline, neither of whose lineage files the backup
     * can read (a directory here; a 0600 file for a backup user of the cluster's group, an emptied
     * one): both record the same "unreadable", so copy b's incremental over copy a's trusted the
     * summaries, as before lineages, and kept a's changed pages.
     */
    @Test
    void twoCopiesWhoseLineageCannotBeRead_doNotShareTheirSummaries() throws Exception {
        twoCopiesOfOneFull("pair-unreadable", true);
    }

    /**
     * A copy's timeline 2 is in the repository only in the copy's backup (the repository had no
     * archive then). The cluster itself, archiving by now, is brought back in place: the restore
     * gives it the copy's history, so it ends recovery on timeline 3 and archives 3 but not 2.
     * PostgreSQL's recovery_target_timeline 'latest' stops following at the first missing number:
     * a restore to the latest from a backup on timeline 1 replayed the discarded timeline 1 and
     * said nothing. The history must reach the archive with the cluster's own.
     */
    @Test
    void aClusterBroughtBackInPlace_afterACopysTimelineWasBackedUp_restoresToItsLatestFromTheArchive() throws Exception {
        LocalCluster c = pg.start("inplace", MAJOR);
        Path repo = dir.resolve("repo-inplace");
        String full = fullOfForty(c, repo); // no archive yet: the WAL is in the backup
        LocalCluster a = CliBackups.restore(pg, repo, dir.resolve("inplace-a"), MAJOR, "--backup", full).cluster();
        PgSupport.sql(a, "UPDATE t SET v = 'a' WHERE id BETWEEN 20000 AND 20300");
        CliBackups.backup(repo, a, "incr"); // holds a's 00000002.history
        a.stop();

        CliBackups.ok("wal", "setup", "-q", "--apply", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port",
                CliBackups.port(c));
        c.stop();
        c.start();
        String full2 = CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "UPDATE t SET v = 'discarded' WHERE id BETWEEN 1 AND 300", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(c);
        c.stop();
        CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--delta", "--backup", full2, "--to", c.pgdata().toString());
        c.start();
        for (int i = 0; i < 600 && !"false".equals(PgSupport.queryString(c, "SELECT pg_is_in_recovery()::text")); i++) {
            Thread.sleep(100); // recovery to the backup's point, then a new timeline
        }
        assertThat(PgSupport.queryString(c, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")).as("after the copy's 2")
                .isEqualTo("00000003");
        PgSupport.sql(c, "UPDATE t SET v = 'kept' WHERE id BETWEEN 10000 AND 10300", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(c);
        Map<String, ContentChecksum.Result> latest = ClusterContent.of(c);
        c.stop();

        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("inplace-latest"), MAJOR, "--target", "latest").cluster();
        assertThat(ClusterContent.of(restored)).as("the latest content, by the archive").isEqualTo(latest);
    }

    @Test
    void withoutSummaries_theIncrementalScans_andSaysWhy_andWalSummaryIsRefused() throws Exception {
        LocalCluster c = pg.start("off", MAJOR);
        Path repo = dir.resolve("repo");
        PgSupport.sql(c, "ALTER SYSTEM SET summarize_wal = off", "SELECT pg_reload_conf()",
                "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "UPDATE t SET v = 'changed' WHERE id < 50");

        CliRun refused = CliRun.run("backup", "-q", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port", CliBackups.port(c),
                "--type", "incr", "--change-source", "wal-summary");
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ErrorCode.SERVER_SETTING.exitCode());
        assertThat(refused.errLines()).first().asString().contains("summarize_wal is off");

        JsonNode scanned = CliBackups.backup(repo, c, "incr");
        assertThat(scanned.get("changeSource").asText()).isEqualTo("scan");
        assertThat(scanned.get("changeSourceNote").asText()).contains("summarize_wal is off");
        assertThat(CliBackups.run("list", "--json", "--repo", repo.toString()).toString()).contains("\"changeSource\":\"scan\"");
    }

    /**
     * Summaries whose LSNs grow a digit in their text form (0/FC000028, then 0/10000000 and on)
     * are still read in LSN order: ordered as text, "0/10..." came first and the range looked
     * like it had a gap, so the backup scanned (bench/scale.sh found it at 5M and 20M books).
     */
    @Test
    void summariesPastAnLsnWhoseTextGrowsLonger_coverTheRange() throws Exception {
        LocalCluster c = pg.start("long", MAJOR);
        Path repo = dir.resolve("repo");
        PgSupport.sql(c, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
        JsonNode full = CliBackups.backup(repo, c, "full");
        assertThat(full.get("startLsn").asText()).as("the full starts before 0/10000000").matches("0/[0-9A-F]{1,7}");
        for (int i = 0; i < 18; i++) {
            PgSupport.sql(c, "UPDATE t SET v = v || 'x' WHERE id = " + (i + 1), "CHECKPOINT", "SELECT pg_switch_wal()");
        }
        JsonNode incr = CliBackups.backup(repo, c, "incr");
        assertThat(incr.get("startLsn").asText()).as("the incremental starts past 0/10000000").matches("0/[0-9A-F]{8}");
        assertThat(incr.get("changeSource").asText()).as("%s", incr.get("changeSourceNote")).isEqualTo("wal-summary");
    }

    /**
     * Small relation files (the catalogs, small tables) that the summaries call unchanged and
     * that were not modified since the full started are not read at all: the incremental reads
     * the changed table and the files that are not main forks. Before, every small file was read
     * whole (they are most of a small cluster's files). The figure it is judged by,
     * {@code bytesRead}, is shown to move: the full reads everything.
     */
    @Test
    void smallRelationFilesTheSummariesCallUnchanged_areNotRead() throws Exception {
        LocalCluster c = pg.start("small", MAJOR);
        Path repo = dir.resolve("repo");
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLE s AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 500) g",
                "VACUUM (FREEZE, ANALYZE)", "CHECKPOINT");
        // Files written within a second before a backup starts count as maybe written during it: let the checkpoint's age.
        Thread.sleep(1100);
        JsonNode full = CliBackups.backup(repo, c, "full");
        assertThat(full.get("bytesRead").asLong()).as("a full reads everything").isEqualTo(full.get("dataBytes").asLong());
        long smallRelationBytes;
        try (Repository r = Repository.open(repo.toString())) {
            smallRelationBytes = r.manifest(full.get("id").asText()).files().stream()
                    .filter(f -> RELATION.matcher(f.path()).matches() && f.size() < 256 * 1024).mapToLong(FileEntry::size).sum();
        }
        assertThat(smallRelationBytes).as("small relation files in the cluster").isGreaterThan(4_000_000);
        PgSupport.sql(c, "UPDATE s SET v = 'changed' WHERE id < 20", "CHECKPOINT");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);

        JsonNode incr = CliBackups.backup(repo, c, "incr");
        assertThat(incr.get("changeSource").asText()).as("%s", incr.get("changeSourceNote")).isEqualTo("wal-summary");
        // What is read: the changed table, files that are no relation's main fork (free space maps and visibility maps are
        // compared whole), and a block or two of the files sampled.
        assertThat(incr.get("bytesRead").asLong()).as("bytes read by the incremental, of %d in small relation files", smallRelationBytes)
                .isLessThan(smallRelationBytes / 2);
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored"), MAJOR).cluster();
        assertThat(ClusterContent.of(restored)).isEqualTo(proof);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
    }

    /**
     * A small relation file changed without WAL after the full: the summaries know nothing of it,
     * but it was modified since the full started, so the incremental reads it whole and stores
     * the changed block (whether or not the sample of unchanged blocks happened to pick it).
     */
    @Test
    void aSmallFileChangedWithoutWal_isReadBecauseItWasModified() throws Exception {
        LocalCluster c = pg.start("smallnowal", MAJOR);
        Path repo = dir.resolve("repo");
        Path file = settledTable(c, 300);
        assertThat(java.nio.file.Files.size(file)).as("t is a small file").isLessThan(256 * 1024);
        CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "CREATE TABLE other AS SELECT 1 AS x");
        c.stop();
        flipFreeSpaceByte(file);
        c.start();
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);
        String incr = CliBackups.backupId(repo, c, "incr");
        try (Repository repository = Repository.open(repo.toString())) {
            String rel = c.pgdata().relativize(file).toString();
            FileEntry e = repository.manifest(incr).files().stream().filter(f -> f.path().equals(rel)).findFirst().orElseThrow();
            assertThat(e.isUnchanged()).as("%s recorded unchanged", rel).isFalse();
        }
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored"), MAJOR, "--backup", incr).cluster();
        assertThat(ClusterContent.of(restored)).isEqualTo(proof);
        assertThat(readBlock0(restored.pgdata().resolve(c.pgdata().relativize(file)))).isEqualTo(readBlock0(file));
    }

    /** Table t of {@code rows} rows, frozen and checkpointed, autovacuum off; its main fork's file. */
    private static Path settledTable(LocalCluster c, int rows) throws Exception {
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int, v text)", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, " + rows + ") g",
                "VACUUM (FREEZE)", "CHECKPOINT");
        return c.pgdata().resolve(PgSupport.queryString(c, "SELECT pg_relation_filepath('t')"));
    }

    private static byte[] readBlock0(Path file) throws java.io.IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer page = ByteBuffer.allocate(Page.SIZE);
            ch.read(page, 0);
            return page.array();
        }
    }

    /** Block 0: a byte in the free space between the line pointers and the tuples, which no query reads; the checksum made valid again. */
    private static void flipFreeSpaceByte(Path file) throws java.io.IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocate(Page.SIZE);
            ch.read(page, 0);
            byte[] b = page.array();
            int lower = (b[12] & 0xff) | (b[13] & 0xff) << 8;
            int upper = (b[14] & 0xff) | (b[15] & 0xff) << 8;
            assertThat(upper - lower).as("free space on block 0").isGreaterThan(1);
            b[lower] ^= 0x5a;
            int sum = PageChecksum.compute(b, 0, 0);
            b[8] = (byte) sum;
            b[9] = (byte) (sum >> 8);
            ch.write(ByteBuffer.wrap(b), 0);
        }
    }

    /**
     * Bytes changed without WAL (written here with a valid page checksum and an old LSN, as a copy
     * restored from an older backup or a tool working on a stopped cluster would leave them): the
     * summaries know nothing of them, the sample of unchanged blocks sees them, and the backup
     * scans every block instead, so that the restore holds them.
     */
    @Test
    void blocksChangedWithoutWal_areFoundByTheSample_andTheBackupScans() throws Exception {
        LocalCluster c = pg.start("nowal", MAJOR);
        Path repo = dir.resolve("repo");
        Path file = settledTable(c, 30000);
        CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "INSERT INTO t SELECT g, 'tail' FROM generate_series(1, 100) g");
        c.stop();
        flipFreeSpaceByte(file);
        c.start();
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);
        JsonNode r = CliBackups.backup(repo, c, "incr");
        assertThat(r.get("changeSource").asText()).isEqualTo("scan");
        assertThat(r.get("changeSourceNote").asText()).contains("block 0 of").contains("though the WAL summaries name no change to it");
        String incr = r.get("id").asText();
        try (Repository repository = Repository.open(repo.toString())) {
            Manifest m = repository.manifest(incr);
            assertThat(m.changeSource()).isEqualTo("scan");
            String rel = c.pgdata().relativize(file).toString();
            FileEntry e = m.files().stream().filter(f -> f.path().equals(rel)).findFirst().orElseThrow();
            assertThat(e.blocks().toArray()).as("blocks stored of %s", rel).contains(0L);
        }
        LocalCluster restored = CliBackups.restore(pg, repo, dir.resolve("restored"), MAJOR, "--backup", incr).cluster();
        assertThat(ClusterContent.of(restored)).isEqualTo(proof);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
    }
}
