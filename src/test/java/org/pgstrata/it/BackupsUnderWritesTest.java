package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgClient;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;

/**
 * Incremental, differential and reverse-delta backups taken while pgbench writes (four clients),
 * through the command line, each restored and proven exactly at the point it restores to.
 *
 * <p>With writes going on, the source never stood still at a backup's point, so there is no
 * snapshot of it to take there. The proof builds one instead: a full backup taken before the
 * writes began, on a quiet source, restored with the archived WAL up to exactly the LSN where
 * the restore of the backup under test stopped replaying (its {@code stoppedAtLsn}, at or after
 * the backup's stop LSN), excluding the record that starts there. Both copies then hold the
 * effect of the same WAL records, so a correct restore has the same content, table by table and
 * row by row; a wrong page in the backup under test shows as a difference, unless a later full
 * page image in the WAL it replays rewrote it, which leaves the restore right. The reference
 * depends only on a plain full copy of a quiet cluster and on PostgreSQL's own replay. On top,
 * each restore keeps pgbench's invariant (the balances of accounts, tellers and branches, and the
 * history's deltas, all sum to the same), passes amcheck, and holds history rows written while
 * its backup ran (so the backup did run under writes). The latest incremental restored to a
 * restore point made after pgbench stopped equals the quiet source there.
 */
class BackupsUnderWritesTest {
    private static final int MAJOR = 16;
    private static final String QUIET = "after pgbench";

    /** The backups taken while pgbench writes, in the order they are taken. */
    enum UnderWrites {
        INCR_ON_FULL("incr", false), DIFF_ON_FULL("diff", false), REVERSE_FIRST("reverse", true), INCR_ON_DIFF("incr", false),
        REVERSE_SECOND("reverse", true);

        final String type;
        final boolean reverse;

        UnderWrites(String type, boolean reverse) {
            this.type = type;
            this.reverse = reverse;
        }
    }

    /** A backup taken under writes, with pgbench_history's size just before it began and just after it ended. */
    record Taken(JsonNode backup, long historyBefore, long historyAfter) {
    }

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    /** The source archives here; full, incremental and differential backups go here too. */
    static Path repo;
    static Path reverseRepo;
    static JsonNode quietFull;
    static Map<String, ContentChecksum.Result> atQuietFull;
    static final Map<UnderWrites, Taken> taken = new EnumMap<>(UnderWrites.class);
    static Map<String, ContentChecksum.Result> atQuiet;
    static long pgbenchTransactions;

    @BeforeAll
    static void backUpWhilePgbenchWrites() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        reverseRepo = dir.resolve("reverse");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        source.start();
        pgbench("-i", "-q", "-s", "2");
        PgSupport.sql(source, "VACUUM ANALYZE");

        quietFull = CliBackups.backup(repo, source, "full");
        atQuietFull = ClusterContent.of(source);
        CliBackups.backup(reverseRepo, source, "reverse"); // the oldest reverse point, quiet too

        Process writers = startPgbench("-c", "4", "-j", "2", "-n", "-T", "900");
        try {
            waitForHistory(200, writers);
            for (UnderWrites u : UnderWrites.values()) {
                long before = history(source);
                JsonNode b = CliBackups.backup(u.reverse ? reverseRepo : repo, source, u.type);
                long after = history(source);
                taken.put(u, new Taken(b, before, after));
                assertThat(writers.isAlive()).as("pgbench is still writing after the %s backup", u).isTrue();
            }
            // More transactions after the last backup, so that every restored point lies before the end.
            waitForHistory(history(source) + 50, writers);
        } finally {
            writers.destroy(); // SIGTERM: pgbench ends, the server rolls back what it had in flight
            writers.waitFor(60, TimeUnit.SECONDS);
        }
        pgbenchTransactions = history(source);
        CliBackups.ok("restore-point", "-q", QUIET, "--port", CliBackups.port(source));
        atQuiet = ClusterContent.of(source);
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
    }

    @AfterAll
    static void stopServers() {
        if (pg != null) {
            pg.close();
        }
    }

    @ParameterizedTest
    @EnumSource(UnderWrites.class)
    void aBackupTakenWhilePgbenchWrites_restoresExactlyThePointItStopsAt(UnderWrites which) throws Exception {
        Taken t = taken.get(which);
        assertThat(t.historyAfter()).as("pgbench committed transactions while the %s backup ran", which).isGreaterThan(t.historyBefore());
        String[] selection;
        if (which.reverse) {
            // the newest reverse backup is the full; the one before it is now a reverse delta over it
            int steps = which == UnderWrites.REVERSE_SECOND ? 0 : 1;
            assertThat(PgSupport.facade().backupStepsBack(reverseRepo.toString(), steps)).isEqualTo(t.backup().get("id").asText());
            selection = new String[] {"--steps-back", Integer.toString(steps)};
        } else {
            assertThat(t.backup().get("type").asText()).isEqualTo(which.type);
            selection = new String[] {"--backup", t.backup().get("id").asText()};
        }
        String what = which + " (" + t.backup().get("id").asText() + ", stopped at " + t.backup().get("stopLsn").asText() + ")";

        Path target = dir.resolve("restore-" + which);
        CliBackups.Restored r = CliBackups.restore(pg, which.reverse ? reverseRepo : repo, target, MAJOR, selection);
        String stoppedAt = r.result().path("stoppedAtLsn").asText(null);
        assertThat(stoppedAt).as("where the restore of %s stopped replaying", what).isNotNull();
        assertThat(Lsn.parse(stoppedAt).isBefore(Lsn.parse(t.backup().get("stopLsn").asText())))
                .as("the restore of %s stopped at %s, before the backup's consistency point", what, stoppedAt).isFalse();
        Map<String, ContentChecksum.Result> got = ClusterContent.of(r.cluster());
        assertThat(pgbenchBalances(r.cluster())).as("pgbench's balances in the restore of %s", what).hasSize(1);
        long history = history(r.cluster());
        assertThat(history).as("pgbench_history rows in the restore of %s", what).isBetween(t.historyBefore(), pgbenchTransactions);
        assertThat(ClusterContent.amcheck(r.cluster())).as("amcheck of the restore of %s", what).isEmpty();
        r.cluster().stopImmediately();
        PgSupport.deleteTree(target);

        Path refTarget = dir.resolve("reference-" + which);
        CliBackups.Restored ref = CliBackups.restore(pg, repo, refTarget, MAJOR, "--backup", quietFull.get("id").asText(), "--target-lsn", stoppedAt,
                "--target-inclusive", "false");
        try {
            assertThat(got).as("content of the restore of %s, against the quiet full replayed up to %s", what, stoppedAt)
                    .isEqualTo(ClusterContent.of(ref.cluster()));
            // The comparison tells points apart: this one lies after the quiet full and before pgbench ended.
            assertThat(got).as("the point of %s, against the quiet full", what).isNotEqualTo(atQuietFull);
            assertThat(got).as("the point of %s, against the source after pgbench", what).isNotEqualTo(atQuiet);
            System.out.println(what + ": restored to " + stoppedAt + ", " + history + " pgbench transactions (" + t.historyBefore()
                    + " before the backup began, " + t.historyAfter() + " when it ended), the same as the quiet full replayed to there");
        } finally {
            ref.cluster().stopImmediately();
            PgSupport.deleteTree(refTarget);
        }
    }

    @Test
    void theOldestReversePoint_takenBeforeTheWrites_restoresThatQuietContent() throws Exception {
        Path target = dir.resolve("restore-reverse-oldest");
        CliBackups.Restored r = CliBackups.restore(pg, reverseRepo, target, MAJOR, "--steps-back", "2");
        assertThat(ClusterContent.of(r.cluster())).isEqualTo(atQuietFull);
        assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();
        r.cluster().stopImmediately();
        PgSupport.deleteTree(target);
    }

    @Test
    void theLastIncremental_toARestorePointAfterTheWrites_equalsTheQuietSource() throws Exception {
        Path target = dir.resolve("restore-quiet");
        CliBackups.Restored r = CliBackups.restore(pg, repo, target, MAJOR, "--target-name", QUIET);
        assertThat(r.result().get("backupId").asText()).isEqualTo(taken.get(UnderWrites.INCR_ON_DIFF).backup().get("id").asText());
        assertThat(ClusterContent.of(r.cluster())).isEqualTo(atQuiet);
        assertThat(history(r.cluster())).isEqualTo(pgbenchTransactions);
        assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();
        r.cluster().stopImmediately();
        PgSupport.deleteTree(target);
    }

    // ---- pgbench ----

    /** pgbench's tables keep one sum: the accounts', tellers' and branches' balances and the history's deltas. */
    private static List<String> pgbenchBalances(LocalCluster c) throws Exception {
        List<String> sums = new ArrayList<>();
        try (Connection conn = PgSupport.connect(c)) {
            for (String q : List.of("SELECT sum(abalance) FROM pgbench_accounts", "SELECT sum(tbalance) FROM pgbench_tellers",
                    "SELECT sum(bbalance) FROM pgbench_branches", "SELECT coalesce(sum(delta), 0) FROM pgbench_history")) {
                String s = Db.queryString(conn, q);
                if (!sums.contains(s)) {
                    sums.add(s);
                }
            }
        }
        return sums;
    }

    private static long history(LocalCluster c) throws Exception {
        return Long.parseLong(PgSupport.queryString(c, "SELECT count(*) FROM pgbench_history"));
    }

    private static void waitForHistory(long rows, Process writers) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (history(source) >= rows) {
                return;
            }
            assertThat(writers.isAlive()).as("pgbench is running").isTrue();
            Thread.sleep(100);
        }
        throw new AssertionError("pgbench wrote fewer than " + rows + " transactions in a minute");
    }

    /** The machine's pgbench (Debian: postgresql-15, or postgresql-client's wrapper), against the source. */
    private static List<String> pgbenchCommand(String... args) {
        PgClient pgbench = PgClient.find("pgbench", 0, "any server", null, PgSupport.env());
        List<String> cmd = new ArrayList<>(List.of(pgbench.program().toString(), "-h", "127.0.0.1", "-p", CliBackups.port(source), "-U",
                "postgres"));
        cmd.addAll(List.of(args));
        cmd.add("postgres");
        return cmd;
    }

    private static void pgbench(String... args) throws Exception {
        Path log = Files.createTempFile(dir, "pgbench", ".log");
        Process p = new ProcessBuilder(pgbenchCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("pgbench %s finished", List.of(args)).isTrue();
        assertThat(p.exitValue()).as("pgbench %s: %s", List.of(args), Files.readString(log)).isZero();
    }

    private static Process startPgbench(String... args) throws Exception {
        Path log = Files.createTempFile(dir, "pgbench", ".log");
        return new ProcessBuilder(pgbenchCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
