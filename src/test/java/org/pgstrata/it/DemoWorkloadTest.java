package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * The books workload at scale, through the command line: {@code demo populate} leaves a settled
 * table, and {@code demo mutate} reads only what it changes, so that an incremental after a load
 * and a small change holds the change, not the table (issue 16: it held 65% of the full).
 */
class DemoWorkloadTest extends PgTest {
    private static final int ROWS = 100_000;

    /** A new cluster where nothing but the commands under test touches the table: autovacuum off. */
    private LocalCluster quiet(String name) throws SQLException {
        LocalCluster c = pg.start(name, 17);
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()");
        return c;
    }

    private LocalCluster loaded(String name, String... populateOptions) throws SQLException {
        LocalCluster c = quiet(name);
        CliBackups.ok("demo", "init", "-q", "-p", CliBackups.port(c));
        CliRun r = CliBackups.ok(concat(new String[] {"demo", "populate", Integer.toString(ROWS), "-q", "-p", CliBackups.port(c)}, populateOptions));
        assertThat(r.out()).contains("inserted " + ROWS + " rows");
        return c;
    }

    private static CliRun mutate(LocalCluster c, String... options) {
        return CliBackups.ok(concat(new String[] {"demo", "mutate", "-q", "-p", CliBackups.port(c)}, options));
    }

    private static String[] concat(String[] a, String[] b) {
        return Stream.concat(Arrays.stream(a), Arrays.stream(b)).toArray(String[]::new);
    }

    private static long number(LocalCluster c, String query) throws SQLException {
        return Long.parseLong(PgSupport.queryString(c, query));
    }

    /** Waits up to 10 s for {@code query} to answer true. */
    private static void waitFor(LocalCluster c, String query) throws Exception {
        for (int i = 0; i < 200 && !PgSupport.queryString(c, query).equals("t"); i++) {
            Thread.sleep(50);
        }
        assertThat(PgSupport.queryString(c, query)).as("after 10 s: %s", query).isEqualTo("t");
    }

    @Test
    void incremental_afterPopulateAndASmallMutate_holdsTheChange_notTheTable() throws Exception {
        // Settled by populate; and left as loaded, where only mutate's own reads could spread hint bits.
        for (String options : List.of("", "--no-vacuum")) {
            LocalCluster c = loaded(options.isEmpty() ? "settled" : "raw", options.isEmpty() ? new String[0] : new String[] {options});
            Path repo = dir.resolve("repo-" + c.pgdata().getFileName());
            long full = CliBackups.backup(repo, c, "full").get("repositoryBytes").asLong();
            // The change on 200,000 books, in proportion: 1% inserts, 0.1% updates.
            mutate(c, "--insert", Integer.toString(ROWS / 100), "--update", Integer.toString(ROWS / 1000), "--seed", "3");
            long incr = CliBackups.backup(repo, c, "incr").get("repositoryBytes").asLong();
            double share = (double) incr / full;
            System.out.printf("DemoWorkloadTest: populate %d %s; full %d B; incremental after --insert %d --update %d: %d B (%.1f%% of the full)%n",
                    ROWS, options, full, ROWS / 100, ROWS / 1000, incr, 100 * share);
            assertThat(share).as("populate %s: incremental %d B against the full's %d B", options, incr, full).isLessThan(0.15);
        }
    }

    @Test
    void mutate_readsOnlyWhatItChanges_andChangesWhatItWasAskedTo() throws Exception {
        LocalCluster c = loaded("src");
        PgSupport.sql(c, "CREATE TABLE before AS SELECT id, title, price FROM books"); // to see what mutate changed
        // A backend flushes its statistics when idle or as it exits, after its client has gone:
        // wait for the load's and the copy's before counting, and for mutate's after.
        String stats = "SELECT seq_scan || ' ' || coalesce(idx_tup_fetch, 0) || ' ' || n_tup_ins FROM pg_stat_user_tables WHERE relname = 'books'";
        waitFor(c, "SELECT n_tup_ins = " + ROWS + " AND seq_scan > 0 FROM pg_stat_user_tables WHERE relname = 'books'");
        String[] before = PgSupport.queryString(c, stats).split(" ");
        long indexReadBefore = number(c, "SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE relname = 'books'");

        CliRun r = mutate(c, "--insert", "2000", "--update", "200", "--delete", "100", "--seed", "9");
        assertThat(r.out()).contains("inserted 2000, updated 200, deleted 100 rows");

        waitFor(c, "SELECT n_tup_ins = " + (ROWS + 2000) + " FROM pg_stat_user_tables WHERE relname = 'books'");
        String[] after = PgSupport.queryString(c, stats).split(" ");
        assertThat(Long.parseLong(after[0])).as("sequential scans of books during mutate").isEqualTo(Long.parseLong(before[0]));
        long indexRead = number(c, "SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE relname = 'books'") - indexReadBefore;
        long heapFetched = Long.parseLong(after[1]) - Long.parseLong(before[1]);
        System.out.printf("DemoWorkloadTest: mutate of 2300 rows of %d read %d index entries and fetched %d rows by index%n",
                ROWS, indexRead, heapFetched);
        assertThat(indexRead).as("index entries read by mutate (the table has %d)", ROWS).isLessThan(ROWS / 10);
        assertThat(heapFetched).as("rows fetched by index during mutate").isLessThan(ROWS / 10);

        // What was asked: 2000 new rows after the old ones, 200 revised, 100 gone from the old ones.
        assertThat(number(c, "SELECT count(*) FROM books")).isEqualTo(ROWS + 2000 - 100);
        assertThat(number(c, "SELECT count(*) FROM books WHERE id > " + ROWS)).isEqualTo(2000);
        assertThat(number(c, "SELECT count(*) FROM books WHERE id <= " + ROWS)).isEqualTo(ROWS - 100);
        assertThat(number(c, "SELECT count(*) FROM books WHERE title LIKE '% (revised)' AND updated_at > created_at")).isEqualTo(200);
        assertThat(number(c, "SELECT count(*) FROM books b JOIN before o USING (id) "
                + "WHERE b.title = o.title || ' (revised)' AND b.price = o.price + 1.00")).as("rows revised from what they were").isEqualTo(200);
        assertThat(number(c, "SELECT count(*) FROM before o WHERE NOT EXISTS (SELECT FROM books b WHERE b.id = o.id)")).isEqualTo(100);

        // The same seed on the same content picks the same rows: a second cluster, the same steps.
        LocalCluster twin = loaded("twin");
        mutate(twin, "--insert", "2000", "--update", "200", "--delete", "100", "--seed", "9");
        String rows = "SELECT md5(string_agg(concat_ws('|', id, title, author, isbn, published_year, price), ',' ORDER BY id)) FROM books";
        assertThat(PgSupport.queryString(twin, rows)).isEqualTo(PgSupport.queryString(c, rows));
    }

    @Test
    void mutate_onASparseOrEmptyTable_changesTheRowsThereAre() throws Exception {
        LocalCluster c = pg.start("src", 17);
        String port = CliBackups.port(c);
        CliBackups.ok("demo", "init", "-q", "-p", port);
        CliRun negative = CliRun.run("demo", "mutate", "-q", "-p", port, "--update", "-1");
        assertThat(negative.exitCode()).as(negative.err()).isEqualTo(2);
        assertThat(negative.err().strip()).contains("--insert, --update and --delete must be 0 or more").doesNotContain("\n");
        assertThat(mutate(c, "--update", "5", "--delete", "5", "--insert", "3").out()).contains("inserted 3, updated 0, deleted 0 rows");
        CliBackups.ok("demo", "populate", "2000", "-q", "-p", port);
        // Leaves 13 rows spread over a range of 2003 ids: most ids drawn from it are misses.
        assertThat(mutate(c, "--delete", "1990", "--seed", "4").out()).contains("deleted 1990 rows");
        assertThat(mutate(c, "--update", "10", "--delete", "10", "--seed", "5").out()).contains("updated 10, deleted 3 rows");
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(Db.queryString(conn, "SELECT count(*) FROM books")).isEqualTo("10");
            assertThat(Db.queryString(conn, "SELECT count(*) FROM books WHERE title LIKE '% (revised)'")).isEqualTo("10");
        }
    }

    @Test
    void populate_settlesTheTable_unlessToldNotTo() throws Exception {
        LocalCluster settled = quiet("settled");
        LocalCluster raw = quiet("raw");
        for (LocalCluster c : List.of(settled, raw)) {
            CliBackups.ok("demo", "init", "-q", "-p", CliBackups.port(c));
        }
        CliRun s = CliBackups.ok("demo", "populate", "5000", "-q", "-p", CliBackups.port(settled));
        assertThat(s.out()).contains("settled: VACUUM (FREEZE, ANALYZE) books in ");
        CliRun r = CliBackups.ok("demo", "populate", "5000", "--no-vacuum", "-q", "-p", CliBackups.port(raw));
        assertThat(r.out()).doesNotContain("settled");
        String vacuums = "SELECT vacuum_count || ' ' || analyze_count FROM pg_stat_user_tables WHERE relname = 'books'";
        waitFor(settled, "SELECT vacuum_count = 1 AND analyze_count = 1 FROM pg_stat_user_tables WHERE relname = 'books'");
        assertThat(PgSupport.queryString(raw, vacuums)).isEqualTo("0 0");
        // FREEZE: every page all-frozen in the visibility map, so no later vacuum rewrites them.
        String notFrozen = "SELECT count(*) FILTER (WHERE NOT all_frozen) || ' of ' || count(*) FROM pg_visibility_map('books')";
        for (LocalCluster c : List.of(settled, raw)) {
            PgSupport.sql(c, "CREATE EXTENSION pg_visibility");
        }
        assertThat(PgSupport.queryString(settled, notFrozen)).as("pages not all-frozen after populate").matches("0 of [1-9][0-9]*");
        assertThat(PgSupport.queryString(raw, notFrozen)).as("pages not all-frozen after populate --no-vacuum").matches("([1-9][0-9]*) of \\1");
    }
}
