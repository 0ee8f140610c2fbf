package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.ContentChecksum;

/**
 * Memory that does not grow with the database (issue 16, acceptance 5): a cluster of more than
 * 100,000 relation files backs up (full, then incremental), lists and restores in a pgstrata
 * whose heap is bounded by {@link #HEAP}, the bound the README states. Each command runs in its
 * own JVM, as the launcher runs it, and its peak resident memory is printed.
 */
class ManyRelationFilesTest extends PgTest {
    /** The heap the README promises is enough for this many files. */
    static final String HEAP = "-Xmx512m";
    /** list holds the manifests and nothing else: it fits in much less. */
    private static final String LIST_HEAP = "-Xmx128m";
    /**
     * Tables of seven files each: heap, TOAST heap, TOAST index, primary key and three more
     * indexes. Each table costs catalogue work to make and two queries to prove, each file only
     * its creation: indexes give the most files for the least time.
     */
    private static final int TABLES = 14_400;
    private static final int TABLES_PER_TRANSACTION = 800;
    /** Every 100th table, and the ones the test changes, are checked with amcheck (all of them would take minutes). */
    private static final int AMCHECK_EVERY = 100;
    private static final int MAJOR = 17;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> figures = new ArrayList<>();
    private long started = System.nanoTime();

    @Test
    void hundredThousandRelationFiles_backUpListAndRestore_inABoundedHeap() throws Exception {
        long t0 = System.nanoTime();
        started = t0;
        // A test cluster: fsync off (nothing here survives a crash of the machine), room for the locks of 1,000 new tables.
        PgBinaries bin = PgBinaries.resolve(null, MAJOR, PgSupport.env());
        LocalCluster source = pg.track(LocalCluster.init(dir.resolve("source"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(),
                "fsync = off\nmax_locks_per_transaction = 256\nautovacuum = off\n")));
        source.start();
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE SCHEMA many");
            for (int from = 0; from < TABLES; from += TABLES_PER_TRANSACTION) {
                // One row each: a heap page, indexes of two pages, an empty TOAST heap and its index's metapage.
                Db.execute(c, """
                        DO $$ BEGIN
                          FOR i IN %d..%d LOOP
                            EXECUTE format('CREATE TABLE many.t%%s (id int PRIMARY KEY, v text)', i);
                            EXECUTE format('CREATE INDEX ON many.t%%s (v)', i);
                            EXECUTE format('CREATE INDEX ON many.t%%s (v, id)', i);
                            EXECUTE format('CREATE INDEX ON many.t%%s (id, v)', i);
                            EXECUTE format('INSERT INTO many.t%%s VALUES (%%s, md5(%%L))', i, i, i);
                          END LOOP;
                        END $$""".formatted(from, Math.min(TABLES, from + TABLES_PER_TRANSACTION) - 1));
            }
            Db.execute(c, "CHECKPOINT");
        }
        long files = relationFiles(source.pgdata());
        assertThat(files).as("relation files under base/").isGreaterThanOrEqualTo(100_000);
        figures.add("cluster of " + files + " relation files made in " + secondsSince(t0) + " s");

        Path repo = dir.resolve("repo");
        String port = CliBackups.port(source);
        ChildCli.Finished full = pgstrata("backup full", "backup", "-q", "--json", "--repo", repo.toString(), "--pgdata",
                source.pgdata().toString(), "--port", port, "--type", "full");
        String fullId = json(full).get("id").asText();

        // A few tables change, one gets a second page: the incremental stores those and refers to the rest.
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "UPDATE many.t7 SET v = 'changed'");
            Db.execute(c, "INSERT INTO many.t70 SELECT g, repeat('x', 100) FROM generate_series(100000, 100200) g");
            Db.execute(c, "DELETE FROM many.t700");
            Db.execute(c, "CREATE TABLE many.added (id int PRIMARY KEY, v text)");
            Db.execute(c, "INSERT INTO many.added VALUES (1, 'new')");
        }
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(source);
        ChildCli.Finished incr = pgstrata("backup incr", "backup", "-q", "--json", "--repo", repo.toString(), "--pgdata",
                source.pgdata().toString(), "--port", port, "--type", "incr");
        JsonNode incrResult = json(incr);
        String incrId = incrResult.get("id").asText();
        assertThat(incrResult.get("reference").asText()).isEqualTo(fullId);

        ChildCli.Finished list = pgstrata("list", "list", "--repo", repo.toString());
        assertThat(list.output()).contains(fullId, incrId);
        // Reading a manifest costs no copy of its text and one string per repeated value: list needed 192 MiB here before.
        assertThat(pgstrata("list under " + LIST_HEAP, List.of(LIST_HEAP), "list", "--repo", repo.toString()).output()).contains(incrId);
        JsonNode listed = json(pgstrata("list --json", "list", "--json", "--repo", repo.toString()));
        assertThat(listed).hasSize(2);
        assertThat(listed.get(1).get("chain")).extracting(JsonNode::asText).containsExactly(fullId, incrId);

        // Eight jobs: the restore syncs every file it writes, and here each sync waits for the disk.
        Path target = dir.resolve("restored");
        try {
            json(pgstrata("restore of the incremental", "restore", "-q", "--json", "--repo", repo.toString(), "--backup", incrId,
                    "--to", target.toString(), "--jobs", "8", "--start", "--port", Integer.toString(LocalCluster.freePort())));
        } catch (AssertionError | Exception e) {
            if (Files.isRegularFile(target.resolve("PG_VERSION"))) {
                pg.trackRestored(target, MAJOR); // a server the failed restore may have started is stopped at the end
            }
            throw e;
        }
        LocalCluster restored = pg.trackRestored(target, MAJOR);
        long proofStart = System.nanoTime();
        assertThat(ClusterContent.of(restored)).isEqualTo(atIncr);
        assertThat(atIncr.get("postgres").tables()).hasSize(TABLES + 1);
        figures.add("content of the restored copy: " + secondsSince(proofStart) + " s");
        proofStart = System.nanoTime();
        assertThat(amcheckSample(restored)).as("amcheck of the restored copy").isGreaterThan(TABLES / AMCHECK_EVERY * 5);
        figures.add("amcheck of the catalogues and every " + AMCHECK_EVERY + "th table: " + secondsSince(proofStart) + " s");
    }

    /** Stops the servers and removes their 200,000 files in parallel (JUnit's one-at-a-time clean-up takes minutes here). */
    @AfterEach
    void removeClusters() throws Exception {
        long t0 = System.nanoTime();
        pg.close();
        PgSupport.deleteTreeInParallel(dir.resolve("source"), 16);
        PgSupport.deleteTreeInParallel(dir.resolve("restored"), 16);
        figures.add("clean-up: " + secondsSince(t0) + " s; test until clean-up: " + secondsSince(started) + " s");
        figures.forEach(f -> System.out.println("ManyRelationFilesTest: " + f));
    }

    /**
     * amcheck over every B-tree and heap of pg_catalog (catalogues of 100,000 relations span many
     * pages), the changed tables and every {@link #AMCHECK_EVERY}th one, with their TOAST tables;
     * fails on the first problem; returns how many relations it checked.
     */
    private static int amcheckSample(LocalCluster c) throws Exception {
        try (Connection conn = PgSupport.connect(c)) {
            Db.execute(conn, "CREATE EXTENSION amcheck");
            String sampled = """
                    WITH chosen AS (
                      SELECT t.oid, t.reltoastrelid FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
                      WHERE t.relkind = 'r' AND (n.nspname = 'pg_catalog' OR n.nspname = 'many' AND CASE
                        WHEN t.relname ~ '^t[0-9]+$' THEN substr(t.relname, 2)::int %% %d = 0 OR t.relname IN ('t7', 't70', 't700')
                        ELSE true END)),
                    sample AS (SELECT oid FROM chosen UNION ALL SELECT reltoastrelid FROM chosen WHERE reltoastrelid <> 0)
                    """.formatted(AMCHECK_EVERY);
            String problems = Db.queryString(conn, sampled + """
                    SELECT string_agg(s.oid::regclass || ' block ' || v.blkno || ': ' || v.msg, '; ')
                    FROM sample s, LATERAL verify_heapam(s.oid) v""");
            assertThat(problems).as("verify_heapam").isNull();
            int heaps = Integer.parseInt(Db.queryString(conn, sampled + "SELECT count(*) FROM sample"));
            int indexes = Integer.parseInt(Db.queryString(conn, sampled + """
                    SELECT count(*) FROM sample s JOIN pg_index i ON i.indrelid = s.oid
                    JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_am am ON am.oid = ci.relam AND am.amname = 'btree',
                    LATERAL bt_index_check(i.indexrelid, true) AS checked"""));
            return heaps + indexes;
        }
    }

    /** Runs pgstrata in a child JVM with the bounded heap; fails with what it said unless it succeeds. */
    private ChildCli.Finished pgstrata(String what, String... args) throws Exception {
        return pgstrata(what, List.of(HEAP), args);
    }

    private ChildCli.Finished pgstrata(String what, List<String> heap, String... args) throws Exception {
        List<String> jvm = new ArrayList<>(heap);
        jvm.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")); // as the launchers run it
        // Block maps in their temporary files, as for a cluster of terabytes: the bound holds on that path too.
        jvm.add("-Dpgstrata.blockmap.heapBytes=0");
        ChildCli.Finished r = ChildCli.run(Map.of(), jvm, 600, args);
        assertThat(r.exitCode()).as("%s under %s exited %d; it said: %s", what, heap, r.exitCode(), r.output()).isZero();
        figures.add("%s: %.1f s, peak resident memory %d MiB".formatted(what, r.seconds(), r.peakRssKib() / 1024));
        return r;
    }

    private static JsonNode json(ChildCli.Finished r) throws IOException {
        return JSON.readTree(r.output());
    }

    /** Files of relations under base/ (every database's directory), forks and segments included. */
    private static long relationFiles(Path pgdata) throws IOException {
        try (Stream<Path> walk = Files.walk(pgdata.resolve("base"))) {
            return walk.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().matches("[0-9]+(_[a-z]+)?(\\.[0-9]+)?")).count();
        }
    }

    private static String secondsSince(long t0) {
        return "%.1f".formatted((System.nanoTime() - t0) / 1e9);
    }
}
