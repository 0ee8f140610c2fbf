package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;

/**
 * The visibility-map case of DESIGN.md: PostgreSQL clears a visibility map bit when it changes a
 * heap page (the heap change is WAL-logged; the map page's LSN does not move), so a backup that
 * took the {@code _vm} fork page by page, by LSN, would keep the older backup's map page and
 * restore "all visible" / "all frozen" bits over heap pages that are neither. Index-only scans
 * and VACUUM trust those bits, so the restored cluster would return deleted rows and never
 * freeze live ones. The restores here must bring back the map exactly as it was, with nothing
 * for {@code pg_check_visible} / {@code pg_check_frozen} to report.
 *
 * <p>The WAL replay at restore does not repair a stale bit: it replays only from the backup's
 * own start, and the changes that cleared the bits were made before it.
 */
class VisibilityMapTest extends PgTest {

    /** A backup and what the source held when it was taken. */
    private record Point(BackupResult backup, Map<String, ContentChecksum.Result> content, Map<String, String> maps) {
    }

    private static final List<String> TABLES = List.of("t", "u");

    @Test
    void incrementalAndDifferential_restoreTheVisibilityMapExactly_whereBitsWereClearedWithoutAnLsnChange() throws Exception {
        LocalCluster source = pg.start("source", 17);
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE EXTENSION pg_visibility");
            Db.execute(c, "CREATE EXTENSION pageinspect");
            for (String table : TABLES) {
                // No autovacuum on these tables: only the VACUUMs below set bits.
                Db.execute(c, "CREATE TABLE " + table + " (id int PRIMARY KEY, n int NOT NULL, v text NOT NULL) WITH (autovacuum_enabled = off)");
                Db.execute(c, "INSERT INTO " + table + " SELECT g, 0, repeat(md5(g::text), 2) FROM generate_series(1, 40000) g");
                Db.execute(c, "VACUUM (FREEZE) " + table); // every page all-visible and all-frozen
            }
            assertThat(Long.parseLong(Db.queryString(c, "SELECT pg_relation_size('t') / 8192"))).as("heap pages of t").isGreaterThan(400);
        }
        List<Point> points = new ArrayList<>();
        points.add(backup(source, BackupType.FULL));

        // t: deletes on every page clear its bits, VACUUM sets them again (the map page's LSN moves past the full's
        // start), then deletes clear some of them again (no LSN change).
        // u: only deletes, so its map page keeps an LSN from before the full while its bits are cleared.
        PgSupport.sql(source,
                "DELETE FROM t WHERE id % 7 = 0",
                "VACUUM t",
                "DELETE FROM t WHERE id <= 3000",
                "DELETE FROM u WHERE id % 5 = 0 AND id <= 20000");
        points.add(backup(source, BackupType.INCR));
        // A naive delta of the first incremental would already have missed u's cleared bits.
        assertNaiveDeltaWouldBeStale(source, "u", points.get(0), points.get(1));

        // No VACUUM now: deletes and updates clear bits of t on pages the first incremental holds as all-visible, and
        // more of u's. Neither map page's LSN moves.
        PgSupport.sql(source,
                "DELETE FROM t WHERE id % 11 = 0 AND id > 20000",
                "UPDATE t SET n = n + 1 WHERE id % 13 = 0 AND id > 10000",
                "DELETE FROM u WHERE id % 3 = 0 AND id > 30000",
                "UPDATE u SET n = n + 1 WHERE id % 17 = 0");
        points.add(backup(source, BackupType.INCR));
        assertNaiveDeltaWouldBeStale(source, "t", points.get(1), points.get(2));
        assertNaiveDeltaWouldBeStale(source, "u", points.get(1), points.get(2));

        points.add(backup(source, BackupType.DIFF));
        assertThat(points.get(3).backup().reference()).isEqualTo(points.get(0).backup().id());
        assertNaiveDeltaWouldBeStale(source, "u", points.get(0), points.get(3));

        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            String what = "restore of " + p.backup().type() + " backup " + p.backup().id();
            LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), p.backup().id(), "restored-" + i, 17);
            try (Connection c = PgSupport.connect(restored)) {
                for (String table : TABLES) {
                    assertThat(Db.queryString(c, "SELECT count(*) FROM pg_check_visible('" + table + "')"))
                            .as("%s: tuples of %s on pages marked all-visible that are not", what, table).isEqualTo("0");
                    assertThat(Db.queryString(c, "SELECT count(*) FROM pg_check_frozen('" + table + "')"))
                            .as("%s: tuples of %s on pages marked all-frozen that are not", what, table).isEqualTo("0");
                    assertThat(visibilityMap(c, table)).as("%s: visibility map of %s", what, table).isEqualTo(p.maps().get(table));
                }
            }
            assertThat(ClusterContent.of(restored)).as("%s: content", what).isEqualTo(p.content());
            assertThat(ClusterContent.amcheck(restored)).as("%s: amcheck", what).isEmpty();
            restored.stop();
            PgSupport.deleteTree(restored.pgdata());
        }
    }

    private Point backup(LocalCluster source, BackupType type) throws SQLException {
        BackupResult b = PgSupport.facade().backup(new BackupRequest(dir.resolve("repo").toString(), source.pgdata(),
                PgSupport.conn(source), type, Compression.ZSTD, 2, 0));
        assertThat(b.type()).isEqualTo(type.label());
        Map<String, String> maps = new HashMap<>();
        try (Connection c = PgSupport.connect(source)) {
            for (String table : TABLES) {
                // The source itself is sound, so a report on a restored copy is the restore's doing.
                assertThat(Db.queryString(c, "SELECT count(*) FROM pg_check_visible('" + table + "')")).isEqualTo("0");
                assertThat(Db.queryString(c, "SELECT count(*) FROM pg_check_frozen('" + table + "')")).isEqualTo("0");
                maps.put(table, visibilityMap(c, table));
            }
        }
        return new Point(b, ClusterContent.of(source), maps);
    }

    /** The map's two bits for every heap page, e.g. "0:11 1:10 2:00". */
    private static String visibilityMap(Connection c, String table) throws SQLException {
        return Db.queryString(c, "SELECT string_agg(blkno || ':' || all_visible::int || all_frozen::int, ' ' ORDER BY blkno) "
                + "FROM pg_visibility_map('" + table + "')");
    }

    /**
     * Proves the scenario bites: between {@code reference} and {@code later}, the map of
     * {@code table} lost bits, yet its page's LSN is still before the reference's start, so a
     * delta by LSN would have kept the reference's map page with the lost bits set.
     */
    private static void assertNaiveDeltaWouldBeStale(LocalCluster source, String table, Point reference, Point later) throws SQLException {
        String before = reference.maps().get(table);
        String after = later.maps().get(table);
        assertThat(setBits(after)).as("bits of %s at %s, fewer than at %s", table, later.backup().id(), reference.backup().id())
                .isLessThan(setBits(before));
        Lsn vmPage;
        try (Connection c = PgSupport.connect(source)) {
            vmPage = Lsn.parse(Db.queryString(c, "SELECT lsn::text FROM page_header(get_raw_page('" + table + "', 'vm', 0))"));
        }
        assertThat(vmPage.isBefore(Lsn.parse(reference.backup().startLsn())))
                .as("LSN %s of %s's map page is before %s's start %s", vmPage, table, reference.backup().id(), reference.backup().startLsn())
                .isTrue();
    }

    private static long setBits(String map) {
        return java.util.Arrays.stream(map.split(" ")).mapToLong(e -> e.substring(e.indexOf(':') + 1).chars().filter(ch -> ch == '1').count()).sum();
    }
}
