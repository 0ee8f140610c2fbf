package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.db.Amcheck;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;

/**
 * Every strategy restores the {@link Zoo}, through the command line: a full, an incremental on
 * it, a differential, an incremental on the differential, reverse deltas reached by
 * {@code --steps-back}, a point-in-time target on the archiving source, a logical full and a
 * logical differential of the zoo's main database. Between the points the zoo changes with DDL
 * and DML ({@link Zoo#change}). Each restore is proven against the state taken on the source
 * right after its backup (for the point in time, at the restore point): the content proof of
 * every database, pg_dump of the source against pg_dump of the restore ({@link Dumps}), the
 * index probes, materialized views, sequences, unlogged tables empty after a physical restore,
 * and amcheck.
 *
 * <p>The source is PostgreSQL of the machine's pg_dump major (15 on Debian 12): pg_dump must be
 * at least the server's major, and the comparison dumps the source and the restore with the same
 * one. {@code -Dpgstrata.zoo.without=...} leaves kinds out (see {@link Zoo.Feature}).
 */
class ZooStrategiesTest {
    private static final int MAJOR = LogicalSupport.serverMajor();
    private static final String TARGET = "zoo target ü";
    private static final String RESTORED_FULL = "zoo restored from the logical full";
    private static final String RESTORED_DIFF = "zoo restored from the logical differential";

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Zoo zoo;
    /** The source archives into this repository; the full / incremental / differential chain goes into it too. */
    static Path repo;
    static Path reverseRepo;
    static Path logicalRepo;

    static Point full;
    static Point incr;
    static Point diff;
    static Point incrOnDiff;
    /** Oldest first. */
    static List<Point> reverse;
    static Zoo.State atTarget;
    static Point logicalFull;
    static Point logicalDiff;

    /** A backup and the state of the source (the whole cluster, or the main database for a logical backup) at its point. */
    record Point(String id, String type, String reference, Zoo.State state) {
        static Point of(JsonNode backup, Zoo.State state) {
            return new Point(backup.get("id").asText(), backup.get("type").asText(), backup.path("reference").asText(null), state);
        }
    }

    @BeforeAll
    static void backUpTheZooAtFourPoints() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        reverseRepo = dir.resolve("reverse");
        logicalRepo = dir.resolve("logical");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        source.start();
        zoo = Zoo.build(source, Files.createDirectories(dir.resolve("tablespace dir ü")));

        Zoo.State s1 = zoo.clusterState(source);
        full = Point.of(CliBackups.backup(repo, source, "full"), s1);
        JsonNode r1 = CliBackups.backup(reverseRepo, source, "reverse");
        logicalFull = Point.of(CliBackups.logicalBackup(logicalRepo, source, Zoo.MAIN, "full"), zoo.databaseState(source, Zoo.MAIN));

        zoo.change(1);
        Zoo.State s2 = zoo.clusterState(source);
        incr = Point.of(CliBackups.backup(repo, source, "incr"), s2);
        JsonNode r2 = CliBackups.backup(reverseRepo, source, "reverse");

        zoo.change(2);
        Zoo.State s3 = zoo.clusterState(source);
        diff = Point.of(CliBackups.backup(repo, source, "diff"), s3);
        JsonNode r3 = CliBackups.backup(reverseRepo, source, "reverse");
        logicalDiff = Point.of(CliBackups.logicalBackup(logicalRepo, source, Zoo.MAIN, "diff"), zoo.databaseState(source, Zoo.MAIN));
        reverse = List.of(Point.of(r1, s1), Point.of(r2, s2), Point.of(r3, s3));

        zoo.change(3);
        incrOnDiff = Point.of(CliBackups.backup(repo, source, "incr"), zoo.clusterState(source));

        // A point in time after the last backup, then more change that the restore must not show.
        zoo.change(4);
        CliBackups.ok("restore-point", "-q", TARGET, "--port", CliBackups.port(source));
        atTarget = zoo.clusterState(source);
        zoo.change(5);
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
    }

    @AfterAll
    static void stopServers() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void theZoo_hasEveryKindItClaims_andEachProbeReadsItsOwnIndex() throws Exception {
        assertThat(zoo.probeProblems()).as("index probes on the source").isEmpty();
        try (var c = Db.connect(PgSupport.conn(source).withDbname(Zoo.MAIN))) {
            String used = Db.queryString(c, "SELECT string_agg(DISTINCT am.amname, ',' ORDER BY am.amname) FROM pg_class i "
                    + "JOIN pg_am am ON am.oid = i.relam WHERE i.relkind = 'i' AND i.relnamespace = 'public'::regnamespace");
            assertThat(used.split(",")).contains("bloom", "brin", "btree", "gin", "gist", "hash");
            if (zoo.has(Zoo.Feature.SPGIST)) {
                assertThat(used.split(",")).contains("spgist");
            }
            String kinds = Db.queryString(c, "SELECT string_agg(DISTINCT relkind::text || relpersistence::text, ',') FROM pg_class "
                    + "WHERE relnamespace = 'public'::regnamespace");
            // partitioned, materialized view, view, unlogged table and sequence, TOAST-bearing tables
            assertThat(kinds.split(",")).contains("rp", "pp", "mp", "vp", "ru", "Su", "Sp", "ip", "Ip");
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
                    + "WHERE c.relkind = 'r'")).as("inheritance children").isEqualTo("2");
            assertThat(Db.queryString(c, "SELECT count(*) FROM pg_class t JOIN pg_class r ON r.reltoastrelid = t.oid "
                    + "WHERE t.relpages > 0 OR pg_relation_size(t.oid) > 0")).as("tables with rows in TOAST").isNotEqualTo("0");
        }
        assertThat(full.state().unlogged()).as("unlogged tables at the first point").isNotEmpty().doesNotContainValue("0");
    }

    @Test
    void full_restoresTheZooAtItsPoint() throws Exception {
        assertThat(full.type()).isEqualTo("full");
        proveRestored(full.state(), false, "the full " + full.id(), "--backup", full.id());
    }

    @Test
    void incremental_onTheFull_restoresTheZooAtItsPoint() throws Exception {
        assertThat(incr.type()).isEqualTo("incr");
        assertThat(incr.reference()).isEqualTo(full.id());
        proveRestored(incr.state(), false, "the incremental " + incr.id() + " on " + full.id(), "--backup", incr.id());
    }

    @Test
    void differential_restoresTheZooAtItsPoint() throws Exception {
        assertThat(diff.type()).isEqualTo("diff");
        assertThat(diff.reference()).isEqualTo(full.id());
        proveRestored(diff.state(), false, "the differential " + diff.id() + " on " + full.id(), "--backup", diff.id());
    }

    @Test
    void incremental_onTheDifferential_restoresTheZooAtItsPoint() throws Exception {
        assertThat(incrOnDiff.type()).isEqualTo("incr");
        assertThat(incrOnDiff.reference()).isEqualTo(diff.id());
        proveRestored(incrOnDiff.state(), false, "the incremental " + incrOnDiff.id() + " on the differential " + diff.id(),
                "--backup", incrOnDiff.id());
    }

    @Test
    void reverseDeltas_restoreEveryPoint_byStepsBack() throws Exception {
        List<String> types = PgSupport.facade().list(reverseRepo.toString()).stream().map(b -> b.type()).toList();
        assertThat(types).containsExactly("reverse", "reverse", "full");
        for (int steps = 0; steps < reverse.size(); steps++) {
            Point p = reverse.get(reverse.size() - 1 - steps);
            assertThat(PgSupport.facade().backupStepsBack(reverseRepo.toString(), steps)).isEqualTo(p.id());
            proveRestoredFrom(reverseRepo, p.state(), false, "reverse-delta point " + p.id() + ", " + steps + " steps back",
                    "--steps-back", Integer.toString(steps));
        }
    }

    @Test
    void pointInTime_toANamedRestorePoint_restoresTheZooAsItWasThere() throws Exception {
        proveRestored(atTarget, true, "the restore point '" + TARGET + "' (from " + incrOnDiff.id() + " and the archive)",
                "--target-name", TARGET);
    }

    @Test
    void logicalFull_restoresTheMainDatabase() throws Exception {
        assertThat(logicalFull.type()).isEqualTo("logical-full");
        proveLogical(logicalFull, RESTORED_FULL);
    }

    @Test
    void logicalDifferential_restoresTheMainDatabase() throws Exception {
        assertThat(logicalDiff.type()).isEqualTo("logical-diff");
        assertThat(logicalDiff.reference()).isEqualTo(logicalFull.id());
        proveLogical(logicalDiff, RESTORED_DIFF);
    }

    @Test
    void verify_findsEveryRepositorySound() {
        for (Path r : List.of(repo, reverseRepo, logicalRepo)) {
            JsonNode v = CliBackups.run("verify", "-q", "--json", "--repo", r.toString());
            assertThat(v.path("problems")).as("verify of %s: %s", r, v).isEmpty();
        }
    }

    private void proveRestored(Zoo.State expected, boolean replayedPast, String what, String... which) throws Exception {
        proveRestoredFrom(repo, expected, replayedPast, what, which);
    }

    private void proveRestoredFrom(Path from, Zoo.State expected, boolean replayedPast, String what, String... which) throws Exception {
        Path target = dir.resolve("restore-" + System.nanoTime());
        LocalCluster restored = CliBackups.restore(pg, from, target, MAJOR, which).cluster();
        try {
            Zoo.State got = zoo.clusterState(restored);
            assertThat(Zoo.physicalDifferences(expected, got, replayedPast)).as("how the restore of %s differs from the source", what).isEmpty();
            assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restore of %s", what).isEmpty();
        } finally {
            restored.stopImmediately();
            PgSupport.deleteTree(target);
        }
    }

    private void proveLogical(Point p, String toDb) throws Exception {
        CliBackups.logicalRestore(logicalRepo, source, p.id(), toDb);
        Zoo.State got = zoo.databaseState(source, toDb);
        assertThat(Zoo.logicalDifferences(p.state(), got)).as("how the logical restore of %s (%s) differs from the source's database", p.id(),
                p.type()).isEmpty();
        try (var c = Db.connect(PgSupport.conn(source).withDbname(toDb))) {
            assertThat(Amcheck.check(c)).as("amcheck of the logical restore of %s", p.id()).isEmpty();
        }
    }
}
