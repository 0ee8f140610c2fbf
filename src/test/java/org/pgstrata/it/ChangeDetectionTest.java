package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Progress;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * Incrementals, differentials and reverse deltas store every byte that changed, whatever page
 * LSNs say, through the command line. Each case restored wrong (or not at all) on the main
 * branch before this test, where a page whose LSN was older than the reference's start was taken
 * as unchanged: pg_checksums --enable rewrites every page without moving its LSN; SP-GiST
 * rewrites its metapage's cache without WAL; and a copy restored from an older backup writes
 * pages whose LSNs say nothing about the original's backups.
 */
class ChangeDetectionTest extends PgTest {
    /** A running cluster with 3,000 books. */
    LocalCluster books(int major, long seed) throws Exception {
        LocalCluster c = pg.start("c", major);
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 3_000, 1_000, seed, Progress.NONE);
        }
        return c;
    }

    /** Restores (the newest, or {@code extra} such as --backup ID / --steps-back N), starts it, and returns it. */
    LocalCluster restore(Path repo, String name, int major, String... extra) {
        return CliBackups.restore(pg, repo, dir.resolve(name), major, extra).cluster();
    }

    static void provesContent(LocalCluster restored, Map<String, ContentChecksum.Result> expected, String what) throws Exception {
        assertThat(ClusterContent.of(restored)).as("content of %s", what).isEqualTo(expected);
        assertThat(ClusterContent.amcheck(restored)).as("amcheck of %s", what).isEmpty();
    }

    /** Debian's PostgreSQL client and server programs of {@code major} (.ci/run installs them); failing, not skipping, without. */
    static Path debianProgram(int major, String name) {
        Path p = Path.of("/usr/lib/postgresql/" + major + "/bin/" + name);
        assertThat(p).as("%s of PostgreSQL %d (Debian's postgresql-%d package; .ci/run installs it)", name, major, major).isExecutable();
        return p;
    }

    static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", cmd, out).isZero();
    }

    @Test
    void checksumsTurnedOnBetweenFullAndIncremental_theIncrementalStoresEveryPageAndRestores() throws Exception {
        int major = 15; // Debian's pg_checksums must match the cluster's major
        Path pgChecksums = debianProgram(major, "pg_checksums");
        LocalCluster c = pg.track(LocalCluster.init(dir.resolve("c"), PgBinaries.resolve(null, major, PgSupport.env()),
                new LocalCluster.InitOptions(LocalCluster.freePort(), "", false)));
        c.start();
        try (Connection conn = PgSupport.connect(c)) {
            Books.init(conn);
            Books.populate(conn, 5_000, 1_000, 7, Progress.NONE);
        }
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, c, "full");
        c.stop();
        // What the refusal of an incremental without checksums advises: it rewrites every page, and no page LSN moves.
        run(List.of(pgChecksums.toString(), "--enable", "-D", c.pgdata().toString()));
        c.start();
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(c);
        String incr = CliBackups.backupId(repo, c, "incr");
        CliBackups.ok("verify", "-q", "--repo", repo.toString());
        provesContent(restore(repo, "restored-incr", major), proof, "incremental " + incr + " on " + full);
    }

    @Test
    void spGistMetapageChangesWithoutWal_incrementalDifferentialAndReverseDeltaRestore() throws Exception {
        int major = 17;
        LocalCluster c = pg.start("c", major);
        PgSupport.sql(c, "CREATE TABLE pts (id serial PRIMARY KEY, p point)",
                "INSERT INTO pts (p) SELECT point(i % 997, i % 991) FROM generate_series(1, 50000) i",
                "CREATE INDEX pts_spgist ON pts USING spgist (p)", "CHECKPOINT");
        Path chain = dir.resolve("chain");
        Path reverse = dir.resolve("reverse");
        CliBackups.backupId(chain, c, "full");
        CliBackups.backupId(reverse, c, "reverse"); // the first of a reverse-delta repository is a full
        Map<String, ContentChecksum.Result> before = ClusterContent.of(c);
        // New entries: SpGistUpdateMetaPage rewrites block 0's lastUsedPages cache with no WAL record, so its LSN stays.
        PgSupport.sql(c, "INSERT INTO pts (p) SELECT point(i % 499 + 0.5, i % 503 + 0.5) FROM generate_series(1, 10000) i", "CHECKPOINT");
        Map<String, ContentChecksum.Result> after = ClusterContent.of(c);
        assertThat(after).as("the proof sees the new rows").isNotEqualTo(before);
        String incr = CliBackups.backupId(chain, c, "incr");
        CliBackups.backupId(reverse, c, "reverse");
        String diff = CliBackups.backupId(chain, c, "diff");
        CliBackups.ok("verify", "-q", "--repo", chain.toString());
        CliBackups.ok("verify", "-q", "--repo", reverse.toString());
        provesContent(restore(chain, "restored-incr", major, "--backup", incr), after, "incremental " + incr);
        provesContent(restore(chain, "restored-diff", major, "--backup", diff), after, "differential " + diff);
        provesContent(restore(reverse, "restored-newest", major), after, "the newest full of the reverse-delta repository");
        provesContent(restore(reverse, "restored-step-back", major, "--steps-back", "1"), before, "the reverse delta one step back");
    }

    @Test
    void aCopyRestoredFromAnOlderBackup_startsItsOwnTimeline_andItsIncrementalBuildsOnThatBackup_notOnTheNewerOne() throws Exception {
        int major = 17;
        LocalCluster c = books(major, 3);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "UPDATE books SET price = price + 1 WHERE id % 5 = 0");
        String incr = CliBackups.backupId(repo, c, "incr");
        LocalCluster copy = restore(repo, "copy", major, "--backup", full);
        assertThat(PgSupport.queryString(copy, "SELECT timeline_id::text FROM pg_control_checkpoint()")).as("the copy's timeline").isEqualTo("2");
        PgSupport.sql(copy, "UPDATE books SET price = price + 3 WHERE id % 3 = 0");
        // The newest backup, incr, is not in the copy's past (it was refused as the reference, exit 26, before); full is.
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(copy);
        com.fasterxml.jackson.databind.JsonNode copyIncr = CliBackups.backup(repo, copy, "incr");
        assertThat(copyIncr.get("reference").asText()).as("%s (not %s)", copyIncr, incr).isEqualTo(full);
        copy.stop();
        provesContent(restore(repo, "restored-copy-incr", major, "--backup", copyIncr.get("id").asText()), proof,
                "the copy's incremental on " + full);
    }

    @Test
    void aCopyRestoredFromAnOlderBackupThatKeepsTheTimeline_backsUpIntoTheOriginalRepositoryByteForByte() throws Exception {
        int major = 17;
        LocalCluster c = books(major, 5);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, c, "full");
        PgSupport.sql(c, "UPDATE books SET price = price + 1 WHERE id % 5 = 0");
        CliBackups.backupId(repo, c, "incr");
        c.stop();

        // Restored without --start, then started by hand without recovery.signal: crash recovery from backup_label, so the copy
        // goes on writing timeline 1 from the older backup's point, as a copy made by other means would.
        Path copyDir = dir.resolve("copy");
        CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", copyDir.toString());
        Files.deleteIfExists(copyDir.resolve("recovery.signal"));
        LocalCluster copy = pg.trackRestored(copyDir, major);
        copy.start();
        // Pages written now carry LSNs from before the original's incremental started.
        PgSupport.sql(copy, "UPDATE books SET price = price + 7 WHERE id % 3 = 0", "UPDATE books SET title = title || '!' WHERE id % 11 = 0");
        // Enough WAL that the copy's position passes the original's newest backup, as a busy copy's would.
        for (int i = 0; i < 6; i++) {
            PgSupport.sql(copy, "CREATE TABLE filler_" + i + " AS SELECT g FROM generate_series(1, 20000) g", "SELECT pg_switch_wal()");
        }
        PgSupport.sql(copy, "CHECKPOINT");
        assertThat(PgSupport.queryString(copy, "SELECT timeline_id::text FROM pg_control_checkpoint()")).isEqualTo("1");
        Map<String, ContentChecksum.Result> proof = ClusterContent.of(copy);
        String incr = CliBackups.backupId(repo, copy, "incr");
        CliBackups.ok("verify", "-q", "--repo", repo.toString());
        provesContent(restore(repo, "restored", major, "--backup", incr), proof, "the copy's incremental " + incr);
    }
}
