package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.DrillRecord;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.manifest.DrillRecords;
import org.pgstrata.manifest.Repository;

/**
 * pgstrata status against real repositories of one real server: each check's limit gives its
 * documented exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and says what it measured; the
 * Prometheus textfile is read back by the Prometheus client library's own parser.
 */
class StatusTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PASS = "status test passphrase";

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    /** A repository whose only WAL is what its backup took from pg_wal: no archive. */
    static Path plain;
    static String plainBackup;
    /** The repository the server archives into, with a backup and three segments archived after it. */
    static Path archived;
    static String archivedBackup;
    static List<String> segmentsAfterBackup;
    /** When the last WAL was archived: the archive's newest point is no later than this. */
    static Instant lastArchived;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        plain = dir.resolve("plain");
        archived = dir.resolve("archived");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), 17, null, archived.toString()));
        source.start();
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, note text)", "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i");
        plainBackup = PgSupport.fullBackup(plain, source).id();
        archivedBackup = PgSupport.fullBackup(archived, source).id();
        // Three more segments, each with a commit in it, so that one can go missing between two others.
        segmentsAfterBackup = new ArrayList<>();
        try (Connection c = PgSupport.connect(source)) {
            for (int i = 0; i < 3; i++) {
                Db.execute(c, "INSERT INTO t VALUES (" + (1000 + i) + ", 'more')");
                segmentsAfterBackup.add(Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())"));
                Db.execute(c, "SELECT pg_switch_wal()");
            }
        }
        waitForArchive();
        lastArchived = Instant.now();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    static void waitForArchive() throws Exception {
        for (int i = 0; i < 300; i++) {
            if ("0".equals(PgSupport.queryString(source, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"))) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not archive its WAL in time");
    }

    /** A copy of {@code repo} for one test to change. */
    static Path copy(Path repo, String name) throws Exception {
        Path to = dir.resolve(name);
        PgSupport.copyTree(repo, to);
        return to;
    }

    static DrillRecord drill(String backupId, Instant startedAt, String result, String... findings) {
        return new DrillRecord(DrillRecord.FORMAT_VERSION, backupId, "physical", "the backup's consistency point", startedAt.toString(), 3.5,
                result, List.of("amcheck on every table"), List.of(findings), "17.7", "0/3000000", 1, 10, 100, 1000, "test-host");
    }

    static void record(Path repo, DrillRecord r) throws Exception {
        try (Repository rep = Repository.open(repo.toString())) {
            DrillRecords.write(rep.storage(), r);
        }
    }

    /** A copy of {@code repo} whose backup a drill proved an hour ago. */
    static Path proven(Path repo, String backupId, String name) throws Exception {
        Path r = copy(repo, name);
        record(r, drill(backupId, Instant.now().minus(Duration.ofHours(1)), DrillRecord.PASSED));
        return r;
    }

    static CliRun status(Path repo, String... more) {
        List<String> args = new ArrayList<>(List.of("status", "--repo", repo.toString()));
        args.addAll(List.of(more));
        return CliRun.withEnv(PgSupport.env(), args.toArray(String[]::new));
    }

    /** Asserts the exit code and the first line's start; returns the output's lines. */
    static List<String> expect(CliRun r, int exitCode, String firstLine) {
        assertThat(r.exitCode()).as("exit code; it printed:\n%s%s", r.out(), r.err()).isEqualTo(exitCode);
        List<String> lines = r.out().lines().toList();
        assertThat(lines).isNotEmpty();
        assertThat(lines.get(0)).startsWith(firstLine);
        return lines;
    }

    static JsonNode json(CliRun r) throws Exception {
        return JSON.readTree(r.out());
    }

    static JsonNode check(JsonNode status, String name) {
        for (JsonNode c : status.get("checks")) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + status);
    }

    @Test
    void aRepositoryWithoutBackups_isCritical() throws Exception {
        Path empty = dir.resolve("empty");
        CliBackups.ok("repo", "init", "-q", "--repo", empty.toString(), "--pgdata", source.pgdata().toString());
        List<String> lines = expect(status(empty), 2, "PGSTRATA CRITICAL - " + empty + ": no backup: nothing to restore");
        assertThat(lines).contains("critical: backup-age: no backup: nothing to restore (run 'pgstrata backup')");

        JsonNode j = json(status(empty, "--json"));
        assertThat(j.get("status").asText()).isEqualTo("critical");
        assertThat(j.get("exitCode").asInt()).isEqualTo(2);
        assertThat(j.get("repository").asText()).isEqualTo(empty.toString());
        assertThat(check(j, "backup-age").get("value").isNull()).isTrue();
        assertThat(check(j, "backup-age").get("threshold").asLong()).isEqualTo(26 * 3600);
        assertThat(j.get("newestBackup").isNull()).isTrue();
    }

    @Test
    void aFreshBackupNeverDrilled_warnsOfTheDrillAge_andSkipsTheArchiveItDoesNotHave() throws Exception {
        CliRun r = status(plain);
        List<String> lines = expect(r, 1, "PGSTRATA WARNING - " + plain + ": no backup was ever proven restorable: no drill has passed");
        assertThat(lines.get(0)).contains("limit 8d, --max-drill-age");
        assertThat(lines).anyMatch(l -> l.startsWith("ok: backup-age: the newest backup, " + plainBackup + ", stopped ")
                && l.endsWith(" ago, within 1d 2h (--max-backup-age)"));
        assertThat(lines).contains("skipped: last-drill: no backup was ever drilled",
                "skipped: archive-gaps: no WAL is archived in this repository: the archive is not checked",
                "skipped: archive-lag: no WAL is archived in this repository: the archive is not checked");
        assertThat(lines).anyMatch(l -> l.startsWith("warning: drill-age: "));
        assertThat(lines).hasSize(7); // the first line and six checks

        JsonNode j = json(status(plain, "--json"));
        assertThat(j.get("status").asText()).isEqualTo("warning");
        assertThat(j.get("exitCode").asInt()).isEqualTo(1);
        assertThat(j.get("newestBackup").get("id").asText()).isEqualTo(plainBackup);
        assertThat(j.get("lastDrill").isNull()).isTrue();
        assertThat(j.get("lastProven").isNull()).isTrue();
        assertThat(check(j, "drill-age").get("status").asText()).isEqualTo("warning");
        assertThat(check(j, "drill-age").get("threshold").asLong()).isEqualTo(8 * 86400);
        assertThat(check(j, "backup-age").get("value").asLong()).isBetween(0L, 600L);
        assertThat(check(j, "archive-lag").get("status").asText()).isEqualTo("skipped");
    }

    @Test
    void aPassedDrill_isOk_withoutAnArchive_andWithAFreshOne() throws Exception {
        Path p = proven(plain, plainBackup, "plain-proven");
        List<String> lines = expect(status(p), 0, "PGSTRATA OK - " + p + ": 1 backup(s), the newest ");
        assertThat(lines.get(0)).contains("last proven restorable 1h ago").endsWith("archive not checked");
        assertThat(lines).anyMatch(l -> l.startsWith("ok: last-drill: the newest drill, of " + plainBackup + ", began 1h ago and passed"));
        assertThat(lines).anyMatch(l -> l.equals("ok: drill-age: the newest drill that passed, of " + plainBackup
                + ", began 1h ago, within 8d (--max-drill-age)"));

        Path a = proven(archived, archivedBackup, "archived-proven");
        lines = expect(status(a), 0, "PGSTRATA OK - " + a + ": 1 backup(s)");
        assertThat(lines).contains("ok: archive-gaps: no gap in the archived WAL");
        assertThat(lines).anyMatch(l -> l.startsWith("ok: archive-lag: the newest archived point is ") && l.endsWith(", within 1h (--max-archive-lag)"));
        JsonNode j = json(status(a, "--json"));
        assertThat(j.get("status").asText()).isEqualTo("ok");
        assertThat(j.get("lastDrill").get("result").asText()).isEqualTo("passed");
        assertThat(j.get("lastProven").get("backupId").asText()).isEqualTo(archivedBackup);
        assertThat(check(j, "archive-gaps").get("value").asLong()).isZero();
        long lag = check(j, "archive-lag").get("value").asLong();
        assertThat(lag).isBetween(0L, Duration.between(lastArchived, Instant.now()).getSeconds() + 300);
        assertThat(check(j, "archive-lag").get("threshold").asLong()).isEqualTo(3600);
    }

    @Test
    void aBackupOlderThanTheLimit_isCritical_andZeroTurnsTheCheckOff() throws Exception {
        Path p = proven(plain, plainBackup, "plain-old");
        Thread.sleep(2000);
        List<String> lines = expect(status(p, "--max-backup-age", "1s"), 2, "PGSTRATA CRITICAL - " + p + ": the newest backup, " + plainBackup);
        assertThat(lines.get(0)).contains(", longer than 1s (--max-backup-age)");
        assertThat(lines).anyMatch(l -> l.startsWith("critical: backup-age: "));
        lines = expect(status(p, "--max-backup-age", "0"), 0, "PGSTRATA OK - ");
        assertThat(lines).anyMatch(l -> l.startsWith("skipped: backup-age: ") && l.endsWith("its age is not checked (--max-backup-age 0)"));
        // A limit that is no duration is a usage error, as on every command.
        CliRun bad = status(p, "--max-backup-age", "3 weeks");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err()).contains("'3 weeks' is not a duration");
    }

    @Test
    void aFailedNewestDrill_isCritical_andAPassedOneAfterItIsNot() throws Exception {
        Path p = copy(plain, "plain-failed");
        record(p, drill(plainBackup, Instant.now().minus(Duration.ofHours(3)), DrillRecord.PASSED));
        record(p, drill(plainBackup, Instant.now().minus(Duration.ofHours(2)), DrillRecord.FAILED, "amcheck: index t_pkey is corrupt"));
        List<String> lines = expect(status(p), 2, "PGSTRATA CRITICAL - " + p + ": the newest drill, of " + plainBackup + ", began 2h ago and failed: "
                + "amcheck: index t_pkey is corrupt");
        assertThat(lines).anyMatch(l -> l.startsWith("ok: drill-age: ")); // a drill passed three hours ago
        JsonNode j = json(status(p, "--json"));
        assertThat(j.get("lastDrill").get("result").asText()).isEqualTo("failed");
        assertThat(j.get("lastDrill").get("backupId").asText()).isEqualTo(plainBackup);

        record(p, drill(plainBackup, Instant.now().minus(Duration.ofHours(1)), DrillRecord.PASSED));
        expect(status(p), 0, "PGSTRATA OK - ");
    }

    @Test
    void aDrillDatedInTheFuture_warns_ratherThanHideTheFailedDrillRecordedAfterIt() throws Exception {
        // A drill host whose clock ran two days ahead: its pass stays "the newest" and would hide every later drill.
        Path p = copy(plain, "plain-future");
        record(p, drill(plainBackup, Instant.now().plus(Duration.ofDays(2)), DrillRecord.PASSED));
        record(p, drill(plainBackup, Instant.now().minus(Duration.ofMinutes(1)), DrillRecord.FAILED, "amcheck: index t_pkey is corrupt"));
        List<String> lines = expect(status(p), 1, "PGSTRATA WARNING - " + p + ": the newest drill, of " + plainBackup + ", passed and began at ");
        assertThat(lines.get(0)).contains("1d 23h ahead of this machine's clock");
        assertThat(lines).anyMatch(l -> l.startsWith("warning: last-drill: ") && l.contains("a drill recorded since may be hidden behind it"));
        assertThat(lines).anyMatch(l -> l.startsWith("warning: drill-age: ") && l.contains("ahead of this machine's clock"));
        // A few seconds ahead is only clocks that disagree a little.
        Path q = copy(plain, "plain-nearly-now");
        record(q, drill(plainBackup, Instant.now().plus(Duration.ofSeconds(30)), DrillRecord.PASSED));
        expect(status(q), 0, "PGSTRATA OK - ");
    }

    @Test
    void noDrillPassedWithinTheLimit_warns() throws Exception {
        Path p = copy(plain, "plain-stale-drill");
        record(p, drill(plainBackup, Instant.now().minus(Duration.ofDays(3)), DrillRecord.PASSED));
        expect(status(p), 0, "PGSTRATA OK - ");
        List<String> lines = expect(status(p, "--max-drill-age", "2d"), 1, "PGSTRATA WARNING - " + p + ": the newest drill that passed, of "
                + plainBackup + ", began 3d ago, longer than 2d (--max-drill-age); run 'pgstrata drill'");
        assertThat(lines).anyMatch(l -> l.startsWith("warning: drill-age: "));
        expect(status(p, "--max-drill-age", "0"), 0, "PGSTRATA OK - ");
    }

    @Test
    void aSegmentMissingFromTheArchive_isCritical() throws Exception {
        Path p = proven(archived, archivedBackup, "archived-gap");
        String victimName = segmentsAfterBackup.get(1);
        List<Path> victims;
        try (Stream<Path> s = Files.walk(p.resolve("archive"))) {
            victims = s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().startsWith(victimName)).toList();
        }
        assertThat(victims).as("archived copies of " + victimName).isNotEmpty();
        for (Path v : victims) {
            Files.delete(v);
        }
        List<String> lines = expect(status(p), 2, "PGSTRATA CRITICAL - " + p + ": 1 WAL segment(s) missing from the archive: " + victimName
                + " (timeline 1); no restore can recover across them");
        assertThat(lines).anyMatch(l -> l.startsWith("critical: archive-gaps: "));
        JsonNode j = json(status(p, "--json"));
        assertThat(check(j, "archive-gaps").get("value").asLong()).isEqualTo(1);
        assertThat(check(j, "archive-gaps").get("threshold").asLong()).isZero();
    }

    /**
     * A damaged archived segment made status UNKNOWN ("cannot read the WAL archive"), the code of a
     * repository it could not read, with no check run: a monitor saw neither the damage as such nor
     * the backup's age. It is CRITICAL, as a missing segment is, and the other checks still run.
     */
    @Test
    void aDamagedArchivedSegment_isCritical_andTheOtherChecksStillRun() throws Exception {
        Path p = proven(archived, archivedBackup, "archived-damaged");
        String victimName = segmentsAfterBackup.get(2); // the newest, which status reads for the newest transaction
        List<Path> victims;
        try (Stream<Path> s = Files.walk(p.resolve("archive"))) {
            victims = s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().startsWith(victimName)).toList();
        }
        assertThat(victims).as("archived copies of " + victimName).hasSize(1);
        ManifestTrustTest.flipAByte(victims.get(0));
        List<String> lines = expect(status(p), 2, "PGSTRATA CRITICAL - " + p + ": the archived WAL is damaged: ");
        assertThat(lines.get(0)).contains(victimName).contains("run 'pgstrata verify");
        assertThat(lines).anyMatch(l -> l.startsWith("critical: archive-gaps: the archived WAL is damaged"))
                .anyMatch(l -> l.startsWith("ok: backup-age: ")).anyMatch(l -> l.startsWith("skipped: archive-lag: "));
        JsonNode j = json(status(p, "--json"));
        assertThat(j.get("status").asText()).isEqualTo("critical");
        assertThat(check(j, "archive-gaps").get("status").asText()).isEqualTo("critical");
    }

    @Test
    void anArchiveOlderThanTheLimit_warns() throws Exception {
        Path p = proven(archived, archivedBackup, "archived-lagging");
        long wait = 2000 - Duration.between(lastArchived, Instant.now()).toMillis();
        if (wait > 0) {
            Thread.sleep(wait);
        }
        List<String> lines = expect(status(p, "--max-archive-lag", "1s"), 1, "PGSTRATA WARNING - " + p + ": the newest archived point is ");
        assertThat(lines.get(0)).contains(", older than 1s (--max-archive-lag); check archive_command");
        assertThat(lines).anyMatch(l -> l.startsWith("warning: archive-lag: "));
        assertThat(check(json(status(p, "--json", "--max-archive-lag", "1")), "archive-lag").get("value").asLong()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void anUnreadableRepository_isUnknown() throws Exception {
        Path missing = dir.resolve("no-such-repository");
        Path prom = dir.resolve("unknown.prom");
        List<String> lines = expect(status(missing, "--prometheus", prom.toString()), 3, "PGSTRATA UNKNOWN - no pgstrata repository at " + missing);
        assertThat(lines).hasSize(1);
        assertThat(missing).doesNotExist();
        Map<String, JsonNode> families = parsePrometheus(prom);
        assertThat(families).containsOnlyKeys("pgstrata_status");
        assertThat(value(families, "pgstrata_status", missing.toString(), null)).isEqualTo(3.0);
        JsonNode j = json(status(missing, "--json"));
        assertThat(j.get("status").asText()).isEqualTo("unknown");
        assertThat(j.get("exitCode").asInt()).isEqualTo(3);
        assertThat(j.get("message").asText()).contains("repo.json is missing");

        // An encrypted repository without its passphrase.
        Path encrypted = dir.resolve("encrypted");
        Path passFile = dir.resolve("pass");
        Files.writeString(passFile, PASS + "\n");
        java.nio.file.Files.setPosixFilePermissions(passFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        CliBackups.ok("repo", "init", "-q", "--encrypt", "--cipher-pass-file", passFile.toString(), "--repo", encrypted.toString(),
                "--pgdata", source.pgdata().toString());
        Map<String, String> noPass = PgSupport.env();
        noPass.remove("PGSTRATA_CIPHER_PASS");
        CliRun r = CliRun.withEnv(noPass, "status", "--repo", encrypted.toString());
        lines = expect(r, 3, "PGSTRATA UNKNOWN - ");
        assertThat(lines.get(0)).contains("encrypted").contains("passphrase");
        // With it, the repository is read: no backup yet.
        expect(status(encrypted, "--cipher-pass-file", passFile.toString()), 2, "PGSTRATA CRITICAL - " + encrypted + ": no backup: ");
    }

    @Test
    void aDamagedBackup_warns() throws Exception {
        Path p = proven(plain, plainBackup, "plain-damaged");
        // A second backup's directory that holds the first's manifest: list shows it as damaged.
        String impostor = "20000101-000000F";
        PgSupport.copyTree(p.resolve("backup").resolve(plainBackup), p.resolve("backup").resolve(impostor));
        CliRun list = CliBackups.ok("list", "--json", "--repo", p.toString());
        assertThat(list.out()).contains("\"damaged\"");
        List<String> lines = expect(status(p), 1, "PGSTRATA WARNING - " + p + ": 1 backup(s) cannot be read: " + impostor);
        assertThat(lines).anyMatch(l -> l.startsWith("warning: damaged-backups: "));
        // The damaged one may be newer (its manifest lost, say): the backup counted is the newest of those that can be read.
        assertThat(lines).anyMatch(l -> l.startsWith("ok: backup-age: the newest readable backup, " + plainBackup + ", "));
    }

    @Test
    void thePrometheusTextfile_isReadByThePrometheusParser_withTheRepositoryLabelEscaped() throws Exception {
        // A repository whose path needs every escape of a label value: a double quote, a backslash (before an n, which
        // unescaped would read as a line feed) and a line feed.
        Path p = proven(plain, plainBackup, "odd \"name\" \\new with\nline");
        Path prom = dir.resolve("metrics").resolve("pgstrata.prom");
        Files.createDirectories(prom.getParent());
        Files.writeString(prom, "old content\n");
        List<String> lines = expect(status(p, "--prometheus", prom.toString(), "--max-drill-age", "1m"), 1, "PGSTRATA WARNING - ");
        assertThat(lines).as("one line each, whatever the repository's name holds").hasSize(7);
        assertThat(lines.get(0)).startsWith("PGSTRATA WARNING - " + p.toString().replace('\n', ' ') + ": the newest drill that passed");

        Map<String, JsonNode> f = parsePrometheus(prom);
        String label = p.toString();
        assertThat(f).containsOnlyKeys("pgstrata_status", "pgstrata_backups", "pgstrata_newest_backup_age_seconds", "pgstrata_last_drill_passed",
                "pgstrata_last_proven_age_seconds", "pgstrata_archive_gaps", "pgstrata_status_check");
        for (JsonNode family : f.values()) {
            assertThat(family.get("type").asText()).isEqualTo("gauge");
            assertThat(family.get("help").asText()).isNotBlank();
        }
        assertThat(value(f, "pgstrata_status", label, null)).isEqualTo(1.0);
        assertThat(value(f, "pgstrata_backups", label, null)).isEqualTo(1.0);
        assertThat(value(f, "pgstrata_newest_backup_age_seconds", label, null)).isBetween(0.0, 600.0);
        assertThat(value(f, "pgstrata_last_drill_passed", label, null)).isEqualTo(1.0);
        assertThat(value(f, "pgstrata_last_proven_age_seconds", label, null)).isBetween(3600.0, 3900.0);
        assertThat(value(f, "pgstrata_archive_gaps", label, null)).isEqualTo(0.0);
        assertThat(f.get("pgstrata_status_check").get("samples")).hasSize(6);
        assertThat(value(f, "pgstrata_status_check", label, "backup-age")).isEqualTo(0.0);
        assertThat(value(f, "pgstrata_status_check", label, "drill-age")).isEqualTo(1.0);
        assertThat(value(f, "pgstrata_status_check", label, "archive-lag")).isEqualTo(0.0);
        try (Stream<Path> s = Files.list(prom.getParent())) {
            assertThat(s.map(x -> x.getFileName().toString()).toList()).as("no temporary file left beside it").containsExactly("pgstrata.prom");
        }

        // With an archive, its gauges; with a failed drill, last_drill_passed 0 and the check at 2.
        Path a = proven(archived, archivedBackup, "archived-metrics");
        record(a, drill(archivedBackup, Instant.now().minus(Duration.ofMinutes(1)), DrillRecord.FAILED, "checksum failure"));
        expect(status(a, "--prometheus", prom.toString()), 2, "PGSTRATA CRITICAL - ");
        f = parsePrometheus(prom);
        assertThat(value(f, "pgstrata_status", a.toString(), null)).isEqualTo(2.0);
        assertThat(value(f, "pgstrata_last_drill_passed", a.toString(), null)).isEqualTo(0.0);
        assertThat(value(f, "pgstrata_status_check", a.toString(), "last-drill")).isEqualTo(2.0);
        assertThat(value(f, "pgstrata_archive_lag_seconds", a.toString(), null)).isGreaterThanOrEqualTo(0.0);
        assertThat(value(f, "pgstrata_archive_gaps", a.toString(), null)).isEqualTo(0.0);

        // The parser is strict enough to catch what an unescaped label would produce.
        Path bad = dir.resolve("metrics").resolve("bad.prom");
        Files.writeString(bad, "# TYPE pgstrata_status gauge\npgstrata_status{repo=\"odd \"name\"\"} 1\n");
        assertThat(runParser(bad)[0]).as("exit code of the parser on a malformed file").isNotEqualTo(0);
    }

    // ---- the Prometheus client library's parser, in Python

    private static final String PARSER = String.join("\n",
            "import json, sys",
            "from prometheus_client.parser import text_string_to_metric_families",
            "text = open(sys.argv[1], encoding='utf-8').read()",
            "out = {}",
            "for f in text_string_to_metric_families(text):",
            "    out[f.name] = {'type': f.type, 'help': f.documentation,",
            "                   'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]}",
            "print(json.dumps(out))");

    /**
     * Debian's python3-prometheus-client serves Debian's interpreter, /usr/bin/python3; another
     * python3 earlier on PATH (pyenv) would not find it. A missing parser fails the test.
     */
    private static String python() {
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    /** {exit code, stdout, stderr} of the parser over {@code file}. */
    private static Object[] runParser(Path file) throws Exception {
        Process p = new ProcessBuilder(python(), "-c", PARSER, file.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Object[] {p.exitValue(), out, new String(err, StandardCharsets.UTF_8)};
    }

    /** The metric families in {@code file}, by name, as the parser read them. */
    private static Map<String, JsonNode> parsePrometheus(Path file) throws Exception {
        Object[] r = runParser(file);
        assertThat((int) r[0]).as("the Prometheus parser (python3-prometheus-client) on %s said: %s\nThe file:\n%s", file, r[2],
                Files.readString(file)).isZero();
        return JSON.readValue((String) r[1], new com.fasterxml.jackson.core.type.TypeReference<java.util.TreeMap<String, JsonNode>>() { });
    }

    /** The value of the sample of {@code family} labelled with {@code repo} (and {@code check}); fails when there is not exactly one. */
    private static double value(Map<String, JsonNode> families, String family, String repo, String check) {
        assertThat(families).containsKey(family);
        List<Double> values = new ArrayList<>();
        for (JsonNode s : families.get(family).get("samples")) {
            JsonNode labels = s.get("labels");
            if (labels.path("repo").asText().equals(repo) && (check == null ? !labels.has("check") : labels.path("check").asText().equals(check))) {
                values.add(s.get("value").asDouble());
            }
        }
        assertThat(values).as("samples of %s{repo=%s, check=%s} in %s", family, repo, check, families.get(family)).hasSize(1);
        return values.get(0);
    }
}
