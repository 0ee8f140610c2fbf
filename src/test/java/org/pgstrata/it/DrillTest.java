package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Self;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.postgres.Page;
import org.pgstrata.postgres.PageChecksum;

/**
 * Restore drills (pgstrata drill) of every strategy's backups, recorded in the repository and
 * shown by list; a drill of a backup whose heap and index are corrupted behind valid page
 * checksums fails and names what it found; a drill killed mid-way leaves a scratch copy that the
 * next drill and verify remove and name, and a repository untouched.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DrillTest {
    /** The machine's pg_dump's major, so that the logical backups run too. */
    private static final int MAJOR = LogicalSupport.serverMajor();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static Path scratch;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        scratch = dir.resolve("scratch");
        // The cluster archives into the repository from its first segment: the point-in-time drill needs it.
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        source.start();
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 3_000, 1_000, 1, org.pgstrata.api.Progress.NONE);
        }
        // Values long and varied enough to be stored out of line (TOAST), and a GIN index.
        PgSupport.sql(source, "CREATE TABLE docs (id int PRIMARY KEY, body text, tags text[])",
                "INSERT INTO docs SELECT i, (SELECT string_agg(md5(i::text || ':' || j), '') FROM generate_series(1, 400) j),"
                        + " ARRAY['t' || (i % 7), 'u' || (i % 3)] FROM generate_series(1, 30) i",
                "CREATE INDEX docs_tags ON docs USING gin (tags)");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static void mutate(int round) throws Exception {
        PgSupport.sql(source, "UPDATE books SET price = price + 1 WHERE id % 11 = " + round,
                "INSERT INTO docs SELECT 100 * " + (round + 1) + " + i, repeat(md5(i::text), 300), ARRAY['r" + round + "'] FROM generate_series(1, 5) i");
    }

    /** pgstrata drill ... in this JVM, into this test's scratch directory. */
    private static CliRun drill(Path repository, String... which) {
        List<String> args = new ArrayList<>(List.of("drill", "--repo", repository.toString(), "--scratch-dir", scratch.toString()));
        args.addAll(List.of(which));
        return CliRun.run(args.toArray(String[]::new));
    }

    private static JsonNode passedDrill(Path repository, String... which) throws Exception {
        List<String> args = new ArrayList<>(List.of(which));
        args.add("--json");
        CliRun r = drill(repository, args.toArray(String[]::new));
        assertThat(r.exitCode()).as("drill %s: %s %s", String.join(" ", which), r.out(), r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("result").asText()).isEqualTo("passed");
        assertThat(j.get("findings")).isEmpty();
        assertThat(j.get("relations").asLong()).isGreaterThan(100);
        assertThat(j.get("rows").asLong()).isPositive();
        return j;
    }

    private static Map<String, JsonNode> lastDrills(Path repository) throws Exception {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode b : CliBackups.run("list", "--json", "--repo", repository.toString())) {
            if (b.has("lastDrill")) {
                out.put(b.get("id").asText(), b.get("lastDrill"));
            }
        }
        return out;
    }

    private static void noScratchLeft() throws Exception {
        try (Stream<Path> s = Files.list(scratch)) {
            assertThat(s.map(Path::toString).toList()).as("every drill removes its copy").isEmpty();
        }
    }

    @Test
    @Order(1)
    void aDrillOfEachStrategysBackup_passes_andListShowsLastDrillForExactlyThose() throws Exception {
        String full = CliBackups.backupId(repo, source, "full");
        mutate(1);
        String incr = CliBackups.backupId(repo, source, "incr");
        mutate(2);
        String diff = CliBackups.backupId(repo, source, "diff");
        mutate(3);
        CliBackups.ok("restore-point", "-q", "drill point", "--port", CliBackups.port(source));
        mutate(4);
        String undrilled = CliBackups.backupId(repo, source, "full");
        String logicalFull = CliBackups.logicalBackup(repo, source, "postgres", "full").get("id").asText();
        mutate(5);
        String logicalDiff = CliBackups.logicalBackup(repo, source, "postgres", "diff").get("id").asText();
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);

        JsonNode f = passedDrill(repo, "--backup", full);
        assertThat(f.get("backupId").asText()).isEqualTo(full);
        assertThat(f.get("kind").asText()).isEqualTo("physical");
        assertThat(f.get("checks").toString()).contains("verify_heapam").contains("bt_index_check heapallindexed").contains("read to the last row")
                .contains("pg_control: system");
        passedDrill(repo, "--backup", incr);
        // One physical backup back from the newest (undrilled): the diff.
        assertThat(passedDrill(repo, "--steps-back", "1").get("backupId").asText()).isEqualTo(diff);
        JsonNode pitr = passedDrill(repo, "--target-name", "drill point");
        assertThat(pitr.get("backupId").asText()).as("the backup recovery to the restore point starts from").isEqualTo(diff);
        assertThat(pitr.get("target").asText()).contains("drill point");
        JsonNode lf = passedDrill(repo, "--backup", logicalFull);
        assertThat(lf.get("kind").asText()).isEqualTo("logical");
        assertThat(lf.get("checks").toString()).contains("verify_heapam").contains("into database drill_postgres (2 tables)");
        JsonNode ld = passedDrill(repo, "--backup", logicalDiff);
        assertThat(ld.get("checks").toString()).contains(logicalFull + " + " + logicalDiff);
        noScratchLeft();

        Map<String, JsonNode> shown = lastDrills(repo);
        assertThat(shown.keySet()).as("lastDrill for exactly the backups drilled").containsExactlyInAnyOrder(full, incr, diff, logicalFull, logicalDiff)
                .doesNotContain(undrilled);
        assertThat(shown.get(diff).get("target").asText()).as("the diff's newest drill is the point-in-time one").contains("drill point");
        assertThat(shown.values()).allSatisfy(d -> assertThat(d.get("result").asText()).isEqualTo("passed"));
        assertThat(CliBackups.ok("info", "--repo", repo.toString()).out()).contains("last proven restorable: " + logicalDiff + " at ");
        // A backup's drill records go with it.
        assertThat(repo.resolve("drill").resolve(incr)).isDirectory();
        CliBackups.ok("delete", "-q", "--repo", repo.toString(), "--backup", incr);
        assertThat(repo.resolve("drill").resolve(incr)).doesNotExist();
        assertThat(lastDrills(repo).keySet()).containsExactlyInAnyOrder(full, diff, logicalFull, logicalDiff);

        // Reverse delta: the newest is a full; one step back is the old full turned into a reverse delta.
        Path reverse = dir.resolve("repo-reverse");
        String older = CliBackups.backupId(reverse, source, "full");
        mutate(6);
        String newer = CliBackups.backupId(reverse, source, "reverse");
        JsonNode back = passedDrill(reverse, "--steps-back", "1");
        assertThat(back.get("backupId").asText()).isEqualTo(older);
        assertThat(lastDrills(reverse).keySet()).containsExactly(older).doesNotContain(newer);
        noScratchLeft();
    }

    /**
     * Corrupts, in a stopped cluster, one heap tuple (an xmin from the future) and the key order
     * of one B-tree leaf page, each page then given a valid checksum, as a bug or a bad disk
     * controller could leave it: a backup reads both without complaint.
     */
    @Test
    @Order(2)
    void aBackupCorruptedBehindValidChecksums_failsItsDrill_namingTheRelationAndTheCheck() throws Exception {
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("corrupt"), LocalCluster.freePort(), MAJOR, null));
        c.start();
        PgSupport.sql(c, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'value ' || i FROM generate_series(1, 2000) i",
                "CHECKPOINT");
        Path bad = dir.resolve("repo-corrupt");
        String good = CliBackups.backupId(bad, c, "full");
        passedDrill(bad, "--backup", good); // the same data, sound: the drill passes
        String heap = PgSupport.queryString(c, "SELECT pg_relation_filepath('t')");
        String index = PgSupport.queryString(c, "SELECT pg_relation_filepath('t_pkey')");
        c.stop();
        corruptHeapTuple(c.pgdata().resolve(heap));
        breakIndexOrder(c.pgdata().resolve(index));
        c.start();
        String corrupt = CliBackups.backupId(bad, c, "full");

        CliRun r = drill(bad, "--backup", corrupt);
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(ErrorCode.DRILL_FAILED.exitCode());
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1).first().asString().startsWith("pgstrata: error: the drill of backup " + corrupt + " failed");
        assertThat(r.out()).contains("finding: database postgres: table public.t (verify_heapam)").contains("FAILED")
                .contains("finding: database postgres: index public.t_pkey (bt_index_check heapallindexed");
        Map<String, JsonNode> shown = lastDrills(bad);
        assertThat(shown.get(corrupt).get("result").asText()).isEqualTo("failed");
        assertThat(shown.get(corrupt).get("findings").toString()).contains("t_pkey").contains("verify_heapam");
        assertThat(shown.get(good).get("result").asText()).isEqualTo("passed");
        CliRun status = CliRun.run("status", "--repo", bad.toString());
        assertThat(status.exitCode()).as(status.out() + status.err()).isEqualTo(2);
        assertThat(status.out()).startsWith("PGSTRATA CRITICAL");
        noScratchLeft();
    }

    /** Tuple 1 of block 0: xmin far beyond the cluster's next transaction id, its hint bits cleared. */
    private static void corruptHeapTuple(Path file) throws Exception {
        rewritePage(file, 0, page -> {
            int item = page.getInt(24);
            int off = item & 0x7FFF;
            page.putInt(off, 0x7FFFFF00); // t_xmin
            page.putShort(off + 20, (short) (page.getShort(off + 20) & ~0x0300)); // t_infomask: XMIN_COMMITTED, XMIN_INVALID cleared
        });
    }

    /** The first two data items of the leftmost B-tree leaf page swapped: their keys out of order. */
    private static void breakIndexOrder(Path file) throws Exception {
        long blocks = Files.size(file) / Page.SIZE;
        for (long b = 1; b < blocks; b++) {
            boolean[] done = {false};
            rewritePage(file, b, page -> {
                int special = page.getShort(16) & 0xFFFF;
                int prev = page.getInt(special);
                int next = page.getInt(special + 4);
                int flags = page.getShort(special + 12) & 0xFFFF;
                int items = ((page.getShort(12) & 0xFFFF) - 24) / 4;
                if ((flags & 1) != 0 && prev == 0 && next != 0 && items >= 4) { // leaf, leftmost, not rightmost: item 1 is the high key
                    int a = page.getInt(24 + 4);
                    page.putInt(24 + 4, page.getInt(24 + 8));
                    page.putInt(24 + 8, a);
                    done[0] = true;
                }
            });
            if (done[0]) {
                return;
            }
        }
        throw new AssertionError("no leftmost leaf page with two data items in " + file);
    }

    private interface PageEdit {
        void edit(ByteBuffer page);
    }

    /** Edits block {@code block} of {@code file} and writes it back with a valid checksum (unchanged when the edit changes nothing). */
    private static void rewritePage(Path file, long block, PageEdit edit) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] bytes = new byte[Page.SIZE];
            f.seek(block * Page.SIZE);
            f.readFully(bytes);
            byte[] before = bytes.clone();
            edit.edit(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
            if (java.util.Arrays.equals(before, bytes)) {
                return;
            }
            int sum = PageChecksum.compute(bytes, 0, block);
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) sum);
            assertThat(PageChecksum.verify(bytes, 0, block)).isTrue();
            f.seek(block * Page.SIZE);
            f.write(bytes);
        }
    }

    /** pgstrata in a child process, with TMPDIR (where drills go by default) set to {@code tmp}; {exit code, output}. */
    private static Object[] child(Path tmp, Map<String, String> env, String... args) throws Exception {
        StringBuilder line = new StringBuilder(Self.shellCommand());
        for (String a : args) {
            line.append(' ').append(Self.quote(a));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", line.toString()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("TMPDIR", tmp.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return new Object[] {p.exitValue(), out};
    }

    /** Starts a drill in a child JVM, waits until its copy is restored and running, and kills the JVM with SIGKILL. */
    private static void killMidDrill(Path tmp) throws Exception {
        StringBuilder line = new StringBuilder("exec ").append(Self.shellCommand());
        for (String a : List.of("drill", "--repo", repo.toString(), "--steps-back", "0")) {
            line.append(' ').append(Self.quote(a));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", line.toString()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("TMPDIR", tmp.toString());
        pb.environment().put("PGSTRATA_TEST_PAUSE_AT", "drill-checks");
        Process p = pb.start();
        StringBuilder said = new StringBuilder();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String l;
            while ((l = r.readLine()) != null) {
                said.append(l).append('\n');
                if (l.contains("test hook: pausing at drill-checks")) {
                    break;
                }
            }
            assertThat(said.toString()).as("the drill reached its checks").contains("pausing at drill-checks");
            p.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(p.exitValue()).isEqualTo(137);
    }

    private static List<Path> drillDirs(Path tmp) throws Exception {
        List<Path> out = new ArrayList<>();
        if (Files.isDirectory(tmp)) {
            try (Stream<Path> s = Files.walk(tmp, 2)) {
                s.filter(p -> p.getFileName().toString().startsWith("drill-")).forEach(out::add);
            }
        }
        return out;
    }

    private static boolean serverRunsIn(Path drillDir) throws Exception {
        Path pid = drillDir.resolve("data/postmaster.pid");
        if (!Files.isRegularFile(pid)) {
            return false;
        }
        long p = Long.parseLong(Files.readAllLines(pid).get(0).trim());
        return ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    @Order(3)
    void aDrillKilledMidWay_isCleanedUpAndNamedByTheNextDrillAndByVerify_andTheRepositoryIsUntouched() throws Exception {
        Path tmp = dir.resolve("tmp");
        Files.createDirectories(tmp);
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        source.stop(); // nothing archives into the repository meanwhile: what changes there, a drill changed
        Map<String, String> before = PgSupport.snapshot(repo);
        Set<String> seenDirs = new HashSet<>();
        for (String cleaner : List.of("verify", "drill")) {
            killMidDrill(tmp);
            List<Path> left = drillDirs(tmp);
            assertThat(left).as("the killed drill's copy is left").hasSize(1);
            assertThat(serverRunsIn(left.get(0))).as("with its server running").isTrue();
            seenDirs.add(left.get(0).getFileName().toString());

            Object[] next = cleaner.equals("verify") ? child(tmp, Map.of(), "verify", "--repo", repo.toString())
                    : child(tmp, Map.of(), "drill", "--repo", repo.toString(), "--steps-back", "0");
            assertThat((int) next[0]).as(String.valueOf(next[1])).isZero();
            assertThat((String) next[1]).as(cleaner + " names what it removed").contains("removed " + left.get(0))
                    .contains("left by a drill that was killed");
            assertThat(serverRunsIn(left.get(0))).as("the leftover's server is stopped").isFalse();
            assertThat(drillDirs(tmp)).as(cleaner + " removed the leftover (and its own drill's copy)").isEmpty();
        }
        assertThat(seenDirs).hasSize(2);
        Map<String, String> after = PgSupport.snapshot(repo);
        // The one drill that finished recorded its result (its write also touched the top directory); nothing else changed.
        after.keySet().removeIf(k -> k.startsWith("drill") || k.isEmpty());
        Map<String, String> expected = new TreeMap<>(before);
        expected.keySet().removeIf(k -> k.startsWith("drill") || k.isEmpty());
        assertThat(after).isEqualTo(expected);
    }
}
