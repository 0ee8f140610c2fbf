package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * Drills of a sound backup must pass whatever the scratch directory is called and whatever
 * state the source's catalog is legitimately in; a damaged drill record proves nothing.
 */
class DrillEdgeCasesTest {
    private static final int MAJOR = LogicalSupport.serverMajor();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static String backup;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null));
        source.start();
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 100) i",
                // What an interrupted DROP DATABASE leaves (PostgreSQL 11.21, 12.16, 13.12, 14.9, 15.4 and later): a database
                // nobody can connect to, in the source too; vacuumdb, pg_dumpall and pg_amcheck skip it.
                "CREATE DATABASE half_dropped", "UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'half_dropped'",
                "CREATE DATABASE zz_after");
        backup = CliBackups.backupId(repo, source, "full");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    private static JsonNode drill(Path scratch) throws Exception {
        CliRun r = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", scratch.toString(), "--backup", backup, "--json");
        assertThat(r.exitCode()).as("drill into %s: %s %s", scratch, r.out(), r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("findings")).as(r.out()).isEmpty();
        try (Stream<Path> s = Files.list(scratch)) {
            assertThat(s.toList()).as("the drill removes its copy").isEmpty();
        }
        return j;
    }

    /** A new repository ({@code repo-NAME}) with a full of the source and one drill of it: that drill's record. */
    private static Path drilled(String name) throws Exception {
        Path other = dir.resolve("repo-" + name);
        String id = CliBackups.backupId(other, source, "full");
        CliBackups.ok("drill", "-q", "--repo", other.toString(), "--scratch-dir", dir.resolve("scratch-" + name).toString());
        try (Stream<Path> s = Files.list(other.resolve("drill").resolve(id))) {
            List<Path> records = s.toList();
            assertThat(records).hasSize(1);
            return records.get(0);
        }
    }

    /** The repository a drill record lies in (REPO/drill/BACKUP_ID/RECORD). */
    private static Path repoOf(Path record) {
        return record.getParent().getParent().getParent();
    }

    @Test
    void aScratchDirectoryWithACommaInItsName_passes() throws Exception {
        // unix_socket_directories is a comma-separated list: unquoted, this is the directories ".../scratch" and "b".
        drill(dir.resolve("scratch,b"));
        // A logical drill hands the socket directory to pg_restore too, for which (libpq) a comma separates hosts.
        Path logical = dir.resolve("repo-logical");
        String id = CliBackups.logicalBackup(logical, source, "postgres", "full").get("id").asText();
        Path scratch = dir.resolve("scratch,logical");
        CliRun r = CliRun.run("drill", "--repo", logical.toString(), "--scratch-dir", scratch.toString(), "--backup", id);
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isZero();
    }

    @Test
    void aScratchDirectoryShortInCharactersButLongInBytes_passes() throws Exception {
        // Under 90 characters, over 107 bytes with the socket's name: the socket must go elsewhere.
        Path scratch = Path.of("/tmp", "pgstrata-drill-test-" + "ü".repeat(35));
        assertThat(scratch.resolve("drill-4194304-1").toString().length()).isLessThanOrEqualTo(90);
        assertThat(scratch.resolve("drill-4194304-1/.s.PGSQL.65535").toString().getBytes(StandardCharsets.UTF_8).length).isGreaterThan(107);
        try {
            drill(scratch);
        } finally {
            Files.deleteIfExists(scratch);
        }
    }

    @Test
    void aDatabaseLeftInvalidByAnInterruptedDrop_isSkipped_andTheOthersAreChecked() throws Exception {
        JsonNode j = drill(dir.resolve("scratch-invalid"));
        assertThat(j.get("checks").toString()).contains("database zz_after:").doesNotContain("half_dropped");
    }

    @Test
    void aDamagedDrillRecordNamedPassed_provesNothing() throws Exception {
        Path record = drilled("damaged");
        Path other = repoOf(record);
        String id = record.getParent().getFileName().toString();
        assertThat(record.getFileName().toString()).endsWith("-passed");
        Files.writeString(record, "garbage");

        JsonNode list = CliBackups.run("list", "--json", "--repo", other.toString());
        JsonNode last = list.get(0).get("lastDrill");
        assertThat(last.get("result").asText()).as("a record that cannot be read is not shown as passed: %s", last).isNotEqualTo("passed");
        assertThat(last.get("findings").toString()).contains("cannot be read");
        assertThat(CliBackups.ok("list", "--repo", other.toString()).out()).doesNotContain("last proven restorable: " + id);
        assertThat(CliBackups.ok("info", "--repo", other.toString()).out()).doesNotContain("last proven restorable: " + id);

        CliRun status = CliRun.run("status", "--repo", other.toString(), "--json");
        JsonNode j = JSON.readTree(status.out());
        assertThat(j.get("status").asText()).as(status.out()).isNotEqualTo("ok");
        assertThat(j.get("lastProven").isNull()).as(status.out()).isTrue();
    }

    /**
     * Verify did not read the drill records: a damaged one, which list shows as damaged and status
     * judges critical, left verify at "ok ... 0 problems" (exit 0).
     */
    @Test
    void aDamagedDrillRecord_isAProblemForVerify_butALeftoverOfAGoneBackupIsNot() throws Exception {
        Path record = drilled("verify-drill");
        Path other = repoOf(record);
        String id = record.getParent().getFileName().toString();
        // A sound record of a gone backup (a drill that finished after its backup was removed): a leftover expire removes.
        Path leftover = other.resolve("drill").resolve("20200101-000000F").resolve(record.getFileName());
        Files.createDirectories(leftover.getParent());
        Files.writeString(leftover, "garbage");
        assertThat(CliBackups.ok("verify", "--repo", other.toString()).out()).contains("0 problems");

        Files.writeString(record, "garbage");
        CliRun r = CliRun.run("verify", "--repo", other.toString());
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isEqualTo(15);
        assertThat(r.out()).contains("problem: drill record drill/" + id + "/" + record.getFileName() + " (named passed) cannot be read")
                .doesNotContain("20200101-000000F").doesNotContain("a restore would reject");
        assertThat(r.err()).startsWith("pgstrata: error: verify found 1 problem(s)");
        CliRun j = CliRun.run("verify", "--repo", other.toString(), "--json", "--backup", id);
        assertThat(j.exitCode()).as("%s %s", j.out(), j.err()).isEqualTo(15);
        assertThat(JSON.readTree(j.out()).get("problems").toString()).contains("drill record drill/" + id + "/");
    }

    /**
     * A drill killed as it recorded its result leaves a half-written record (drills write without
     * the lock). Verify named it as an unfinished write for good: nothing removed it. Expire now
     * removes one last written a day ago or more, as it does under archive/, and leaves a newer
     * one, which may be a drill recording right now.
     */
    @Test
    void aHalfWrittenDrillRecord_isRemovedByExpireOnceADayOld() throws Exception {
        Path record = drilled("half-written");
        Path other = repoOf(record);
        Path old = record.resolveSibling(record.getFileName() + ".4242.1.pgstrata-tmp");
        Path recent = record.resolveSibling(record.getFileName() + ".4243.1.pgstrata-tmp");
        Files.writeString(old, "{\"half");
        Files.writeString(recent, "{\"half");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofDays(2))));
        assertThat(CliBackups.ok("verify", "--repo", other.toString()).out())
                .contains("unfinished write").contains(old.getFileName().toString()).contains(recent.getFileName().toString());

        CliBackups.ok("expire", "--repo", other.toString(), "--retain-full", "1");
        assertThat(old).doesNotExist();
        assertThat(recent).exists();
        assertThat(record).exists();
        String verified = CliBackups.ok("verify", "--repo", other.toString()).out();
        assertThat(verified).doesNotContain(old.getFileName().toString()).contains(recent.getFileName().toString());
        assertThat(CliBackups.ok("list", "--repo", other.toString()).out()).contains("last proven restorable");
    }

    /**
     * The source's socket and network settings are its own host's: a group of the source's host,
     * SSL certificates, addresses and socket directories must not keep a sound backup's copy from
     * starting in its sandbox (a failed drill says "do not rely on this backup").
     */
    @Test
    void aSourceWithItsOwnSocketGroupSslAndAddresses_passes() throws Exception {
        Path conf = source.pgdata().resolve("postgresql.conf");
        String original = Files.readString(conf);
        Path other = dir.resolve("repo-conf");
        try {
            // Not reloaded: the source runs on as it was, the backup takes the file as it is.
            Files.writeString(conf, original + "\nssl = on\nssl_cert_file = '/nonexistent/server.crt'\nlisten_addresses = '*'\n"
                    + "unix_socket_directories = '/nonexistent/dir'\nunix_socket_group = 'pgstrata_no_such_group'\nunix_socket_permissions = 0777\n");
            CliBackups.backupId(other, source, "full");
        } finally {
            Files.writeString(conf, original);
        }
        Path scratch = dir.resolve("scratch-conf");
        CliRun r = CliRun.run("drill", "--repo", other.toString(), "--scratch-dir", scratch.toString(), "--json");
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isZero();
    }

    /**
     * --scratch-dir may name a directory the user keeps other things in (a home, /var/tmp): the
     * drill leaves its mode alone, and removes no directory but a killed drill's.
     */
    @Test
    void aScratchDirectoryOfTheUsers_keepsItsModeAndItsOwnDrillNamedDirectories() throws Exception {
        Path scratch = dir.resolve("users-own");
        Path notes = scratch.resolve("drill-notes");
        Path lookalike = scratch.resolve("drill-2024-1");
        Files.createDirectories(notes);
        Files.createDirectories(lookalike);
        Files.writeString(notes.resolve("important.txt"), "keep me");
        Files.writeString(lookalike.resolve("report.txt"), "keep me too");
        java.nio.file.attribute.FileTime hourAgo = java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600));
        Files.setLastModifiedTime(notes, hourAgo);
        Files.setLastModifiedTime(lookalike, hourAgo);
        Files.setPosixFilePermissions(scratch, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));

        CliRun r = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", scratch.toString(), "--backup", backup);
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isZero();
        assertThat(r.err()).doesNotContain("removed");
        assertThat(notes.resolve("important.txt")).hasContent("keep me");
        assertThat(lookalike.resolve("report.txt")).hasContent("keep me too");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(scratch))).isEqualTo("rwxr-xr-x");
    }

    /** A Nagios plugin exits 0 to 3: a --prometheus that names no file is UNKNOWN, not an internal error. */
    @Test
    void statusWithPrometheusAtTheRoot_isUnknown() {
        CliRun r = CliRun.run("status", "--repo", repo.toString(), "--prometheus", "/");
        assertThat(r.exitCode()).as("%s %s", r.out(), r.err()).isEqualTo(3);
        assertThat(r.out()).startsWith("PGSTRATA UNKNOWN - cannot write the Prometheus textfile /");
    }

    /**
     * A source with synchronous standbys (an HA pair): its copy has none, and must not wait for
     * one at its first commit (the checks' CREATE EXTENSION amcheck): the drill ends, and passes.
     */
    /**
     * A production server's memory settings are not the drill host's: huge_pages = on where this
     * host has none configured, shared_buffers larger than its memory. The copy could not start
     * ("could not map anonymous shared memory") and the drill recorded the sound backup as
     * FAILED. A drill's copy runs with shared_buffers at PostgreSQL's default and huge pages
     * where there are any; recovery does not depend on either.
     */
    @Test
    void aSourceWithHugePagesAndMoreMemoryThanThisHost_passes() throws Exception {
        drillPassesWith("memory", "huge_pages = on\nshared_buffers = '200GB'\n");
    }

    /**
     * A source that logs through the collector into a directory of its host (log_directory
     * absolute, as many production setups have it): on a drill host without that directory the
     * copy could not open its log file and exited, and the drill recorded the sound backup as
     * FAILED; on the source's own host the copy wrote into the production server's log files. A
     * drill's copy logs inside its own data directory.
     */
    @Test
    void aSourceLoggingIntoADirectoryThisHostLacks_passes_andItsCopyLogsInsideItself() throws Exception {
        drillPassesWith("logdir", "logging_collector = on\nlog_directory = '/etc/hostname/pglog'\n"); // a file's child: never made
    }

    /**
     * A full backup of the source whose postgresql.conf ends with {@code conf} (not reloaded: the
     * backup takes the file), into a repository of its own, and a drill of it that passes.
     */
    private static void drillPassesWith(String name, String conf) throws Exception {
        Path file = source.pgdata().resolve("postgresql.conf");
        String original = Files.readString(file);
        Path other = dir.resolve("repo-" + name);
        String id;
        try {
            Files.writeString(file, original + "\n" + conf);
            id = CliBackups.backupId(other, source, "full");
        } finally {
            Files.writeString(file, original);
        }
        CliRun r = CliRun.run("drill", "--repo", other.toString(), "--scratch-dir", dir.resolve("scratch-" + name).toString(), "--json");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("findings")).as(r.out()).isEmpty();
        assertThat(j.get("backupId").asText()).isEqualTo(id);
    }

    @Test
    void aSourceWithSynchronousStandbys_passesWithoutWaitingForThem() throws Exception {
        Path conf = source.pgdata().resolve("postgresql.conf");
        String original = Files.readString(conf);
        Path other = dir.resolve("repo-sync");
        try {
            Files.writeString(conf, original + "\nsynchronous_standby_names = 'replica1'\n"); // not reloaded: the backup takes the file
            CliBackups.backupId(other, source, "full");
        } finally {
            Files.writeString(conf, original);
        }
        Process child = ChildCli.start(java.util.Map.of(), List.of(), "drill", "--repo", other.toString(), "--scratch-dir",
                dir.resolve("scratch-sync").toString());
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return e.toString();
            }
        });
        if (!child.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)) {
            child.destroy(); // SIGTERM: the shutdown hook stops the copy
            child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
            throw new AssertionError("the drill did not end within 90 s; it said: " + output.get(10, java.util.concurrent.TimeUnit.SECONDS));
        }
        assertThat(child.exitValue()).as(output.get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
    }

    /**
     * A drill's copy is promoted: were the source's subscriptions to run there, its apply workers
     * would connect to the live publisher and consume the production subscription's slot, and what
     * they took (while the subscriber was down, here) would never reach the subscriber.
     */
    @Test
    void aDrillOfASubscriber_leavesItsPublishersSlotAlone() throws Exception {
        LocalCluster pub = pg.track(PgSupport.facade().clusterInit(dir.resolve("pub"), LocalCluster.freePort(), MAJOR, null));
        Files.writeString(pub.pgdata().resolve("postgresql.conf"), "\nwal_level = logical\n", java.nio.file.StandardOpenOption.APPEND);
        pub.start();
        LocalCluster sub = pg.track(PgSupport.facade().clusterInit(dir.resolve("sub"), LocalCluster.freePort(), MAJOR, null));
        sub.start();
        PgSupport.sql(pub, "CREATE TABLE r (id int PRIMARY KEY)", "CREATE PUBLICATION p FOR TABLE r", "INSERT INTO r SELECT generate_series(1, 10)");
        PgSupport.sql(sub, "CREATE TABLE r (id int PRIMARY KEY)", "CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=" + pub.configuredPort()
                + " user=postgres dbname=postgres' PUBLICATION p");
        awaitRows(sub, 10);
        Path subRepo = dir.resolve("repo-sub");
        CliBackups.backupId(subRepo, sub, "full");
        sub.stop(); // the subscriber is down for a while; the publisher keeps what it has not confirmed
        PgSupport.sql(pub, "INSERT INTO r SELECT generate_series(11, 20)");
        String before = slotFlush(pub);

        Process child = ChildCli.start(java.util.Map.of("PGSTRATA_TEST_PAUSE_AT", "drill-checks"), List.of(),
                "drill", "--repo", subRepo.toString(), "--scratch-dir", dir.resolve("scratch-sub").toString());
        try {
            ChildCli.awaitLine(child, "pausing at drill-checks", 120);
            long end = System.nanoTime() + 15_000_000_000L;
            while (System.nanoTime() < end) {
                assertThat(slotFlush(pub)).as("the drill's copy consumed the publisher's slot").isEqualTo(before);
                Thread.sleep(500);
            }
        } finally {
            child.destroy(); // SIGTERM: the shutdown hook stops the copy
            child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        sub.start();
        awaitRows(sub, 20);
    }

    private static String slotFlush(LocalCluster pub) throws Exception {
        try (java.sql.Connection c = PgSupport.connect(pub)) {
            return org.pgstrata.db.Db.queryString(c, "SELECT active::text || ' ' || confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's'");
        }
    }

    private static void awaitRows(LocalCluster c, int n) throws Exception {
        String count = null;
        for (int i = 0; i < 120; i++) {
            try (java.sql.Connection conn = PgSupport.connect(c)) {
                count = org.pgstrata.db.Db.queryString(conn, "SELECT count(*) FROM r");
            }
            if (Integer.toString(n).equals(count)) {
                return;
            }
            Thread.sleep(250);
        }
        assertThat(count).as("rows replicated to the subscriber").isEqualTo(Integer.toString(n));
    }
}
