package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * libpq's conventions, on a real server that requires a scram password on its Unix socket and on
 * TCP, and runs on another port than the one in its postgresql.conf: the command line is run as
 * its own process with exactly the environment a user would set (PGDATA, PGPASSWORD, PGPASSFILE).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LibpqConventionsTest {
    private static final int MAJOR = 15; // pg_dump here is 15's (Debian's package)
    private static final String PASSWORD = "s3cret:with\\odd";

    Path dir;
    PgSupport pg;
    LocalCluster cluster;
    Path socketDir;
    Path home;
    int configuredPort;
    int runningPort;

    @BeforeAll
    void startServer(@TempDir Path tmp) throws Exception {
        dir = tmp;
        pg = new PgSupport(dir);
        socketDir = dir.resolve("sock");
        Files.createDirectories(socketDir);
        home = dir.resolve("home");
        Files.createDirectories(home);
        configuredPort = LocalCluster.freePort();
        PgBinaries bin = PgBinaries.resolve(null, MAJOR, PgSupport.env());
        cluster = pg.track(LocalCluster.init(dir.resolve("pg"), bin, new LocalCluster.InitOptions(configuredPort,
                "unix_socket_directories = '" + socketDir + "'\nlog_connections = on\n")));
        // Running on another port than the configured one: only postmaster.pid knows it.
        runningPort = LocalCluster.freePort();
        cluster.start(runningPort);
        try (Connection c = Db.connect(new ConnectionSettings("127.0.0.1", runningPort, "postgres", "postgres", null))) {
            Db.execute(c, "SET password_encryption = 'scram-sha-256'");
            Db.execute(c, "ALTER ROLE postgres PASSWORD '" + PASSWORD.replace("'", "''") + "'");
            Files.writeString(cluster.pgdata().resolve("pg_hba.conf"), """
                    local   all          all                  scram-sha-256
                    host    all          all   127.0.0.1/32   scram-sha-256
                    local   replication  all                  scram-sha-256
                    host    replication  all   127.0.0.1/32   scram-sha-256
                    """);
            Db.execute(c, "SELECT pg_reload_conf()");
        }
        // pg_reload_conf() returns before the postmaster rereads pg_hba.conf: until it has, a session without the password is
        // let in (trust), and a test that passes one proves nothing about it. Waited for, not slept for.
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try (Connection c = Db.connect(new ConnectionSettings("127.0.0.1", runningPort, "postgres", "postgres", null))) {
                assertThat(System.nanoTime()).as("pg_hba.conf asks for a password within 60 s").isLessThan(deadline);
            } catch (java.sql.SQLException | org.pgstrata.api.PgstrataException refused) {
                break;
            }
            Thread.sleep(50);
        }
    }

    @AfterAll
    void stopServers() {
        pg.close();
    }

    @Test
    void hostThatIsADirectory_connectsOverTheUnixSocket() {
        Result r = run(Map.of("PGPASSWORD", PASSWORD), "backup", "-q", "--repo", dir.resolve("repo-socket").toString(),
                "--pgdata", cluster.pgdata().toString(), "--host", socketDir.toString(), "--port", Integer.toString(runningPort));
        assertThat(r.exit).as(r.err).isZero();
    }

    @Test
    void walReceive_streamsOverTheUnixSocket() throws Exception {
        Path repo = dir.resolve("repo-receive");
        Result init = run(Map.of(), "repo", "init", "--repo", repo.toString(), "--pgdata", cluster.pgdata().toString());
        assertThat(init.exit).as(init.err).isZero();
        String[] receive = {"wal", "receive", "-q", "--repo", repo.toString(), "--host", socketDir.toString(), "--port",
            Integer.toString(runningPort), "--slot", "libpq_test", "--stop-at", null};
        try (Connection c = Db.connect(tcp())) {
            receive[receive.length - 1] = Db.queryString(c, "SELECT pg_current_wal_lsn()::text");
            Running receiver = start(Map.of("PGPASSWORD", PASSWORD), receive);
            // Once it streams from its slot, complete the segment it waits for.
            for (int i = 0; i < 600 && !"t".equals(Db.queryString(c,
                    "SELECT active FROM pg_replication_slots WHERE slot_name = 'libpq_test'")); i++) {
                assertThat(receiver.process.isAlive()).as("wal receive ended early: %s", receiver).isTrue();
                Thread.sleep(100);
            }
            Db.execute(c, "SELECT pg_switch_wal()");
            Result r = receiver.finish();
            assertThat(r.exit).as(r.err).isZero();
            assertThat(r.out).containsPattern("archived [1-9][0-9]* segment");
            Db.execute(c, "SELECT pg_drop_replication_slot('libpq_test')");
        }
    }

    @Test
    void logicalBackupAndRestore_runPgDumpAndPgRestoreOverTheSocket() {
        Path repo = dir.resolve("repo-logical");
        String[] where = {"--host", socketDir.toString(), "--port", Integer.toString(runningPort)};
        Result b = run(Map.of("PGPASSWORD", PASSWORD), concat(new String[] {"backup", "-q", "--logical", "--repo", repo.toString(),
            "--dbname", "postgres"}, where));
        assertThat(b.exit).as(b.err).isZero();
        Result r = run(Map.of("PGPASSWORD", PASSWORD), concat(new String[] {"restore", "-q", "--logical", "--repo", repo.toString(),
            "--to-db", "copy"}, where));
        assertThat(r.exit).as(r.err).isZero();
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private ConnectionSettings tcp() {
        return new ConnectionSettings("127.0.0.1", runningPort, "postgres", "postgres", PASSWORD);
    }

    @Test
    void noHostNoPort_usesTheSocketAndPortOfPostmasterPid() throws IOException {
        Path log = cluster.pgdata().resolve(LocalCluster.LOG_FILE);
        int before = Files.readString(log).length();
        Result r = run(Map.of("PGPASSWORD", PASSWORD), "backup", "-q", "--repo", dir.resolve("repo-pid").toString(),
                "--pgdata", cluster.pgdata().toString());
        assertThat(r.exit).as(r.err).isZero();
        // The server logs where each connection came from: the socket ("[local]"), not TCP.
        String logged = Files.readString(log).substring(before);
        assertThat(logged).contains("connection received: host=[local]").doesNotContain("connection received: host=127.0.0.1");
    }

    /**
     * Commands that take no --pgdata (restore-point, the demo commands, wal receive) say in --help
     * that host and port default to "the running server's socket (or address) from postmaster.pid
     * of the data directory", and docs/physical.md that a command knows it from -D, else PGDATA:
     * they ignored PGDATA and went to localhost:5432, another cluster's or none (a restore point
     * made on the wrong server is one that --target-name never finds).
     */
    @Test
    void commandsWithoutDashD_takeTheServerOfPGDATA_fromItsPostmasterPid() throws IOException {
        Path log = cluster.pgdata().resolve(LocalCluster.LOG_FILE);
        for (List<String> command : List.of(List.of("restore-point", "libpq_pgdata_point", "--no-switch"), List.of("demo", "checksum"))) {
            int before = Files.readString(log).length();
            Result r = run(Map.of("PGPASSWORD", PASSWORD, "PGDATA", cluster.pgdata().toString()), command.toArray(String[]::new));
            assertThat(r.exit).as("%s with PGDATA and no host or port: %s", command, r.err).isZero();
            assertThat(Files.readString(log).substring(before)).as("%s reached the server of PGDATA over its socket", command)
                    .contains("connection received: host=[local]");
        }
    }

    @Test
    void pgdataFromDashDOrPGDATA_andNeitherIsAUsageError() {
        Result d = run(Map.of("PGPASSWORD", PASSWORD), "backup", "-q", "--repo", dir.resolve("repo-d").toString(),
                "-D", cluster.pgdata().toString());
        assertThat(d.exit).as(d.err).isZero();
        Result env = run(Map.of("PGPASSWORD", PASSWORD, "PGDATA", cluster.pgdata().toString()), "backup", "-q", "--repo",
                dir.resolve("repo-env").toString());
        assertThat(env.exit).as(env.err).isZero();
        for (List<String> command : List.of(List.of("cluster", "status"), List.of("wal", "setup", "--apply", "--repo", dir.resolve("x").toString()),
                List.of("repo", "init", "--repo", dir.resolve("y").toString()))) {
            if (!command.get(0).equals("wal")) { // wal setup --apply would change the server's settings
                Result viaEnv = run(Map.of("PGDATA", cluster.pgdata().toString()), command.toArray(String[]::new));
                assertThat(viaEnv.exit).as(viaEnv.err).isZero();
                assertThat(viaEnv.out).contains(command.get(0).equals("cluster") ? "running: pid" : "serves cluster");
            }
            Result none = run(Map.of(), command.toArray(String[]::new));
            assertThat(none.exit).as(none.err).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(none.errLines()).hasSize(1);
            assertThat(none.err).contains("-D/--pgdata").contains("PGDATA");
        }
        Result none = run(Map.of(), "backup", "-q", "--repo", dir.resolve("repo-none").toString());
        assertThat(none.exit).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(none.err).contains("-D/--pgdata").contains("PGDATA");
    }

    @Test
    void scramWithoutOrWithAWrongPassword_isAnAuthenticationError() {
        for (Map<String, String> env : List.of(Map.<String, String>of(), Map.of("PGPASSWORD", "wrong"))) {
            Result r = run(env, "backup", "-q", "--repo", dir.resolve("repo-auth").toString(), "--pgdata", cluster.pgdata().toString(),
                    "--host", "127.0.0.1", "--port", Integer.toString(runningPort));
            assertThat(r.exit).as(r.err).isEqualTo(ErrorCode.AUTHENTICATION.exitCode()).isEqualTo(33);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err).contains("authentication").contains("PGPASSWORD").contains("~/.pgpass").contains("PGPASSFILE").contains("--user")
                    .doesNotContain("server is running");
        }
    }

    @Test
    void passwordFile_isReadByLibpqRules_andIgnoredWhenOthersCanReadIt() throws IOException {
        String escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:");
        Path file = dir.resolve("passfile");

        // A file others can read is ignored with a warning, as libpq does (pgjdbc alone would use it).
        Files.writeString(file, "127.0.0.1:" + runningPort + ":*:postgres:" + escaped + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Result open = run(Map.of("PGPASSFILE", file.toString()), "backup", "-q", "--repo", dir.resolve("repo-pass").toString(),
                "--pgdata", cluster.pgdata().toString(), "--host", "127.0.0.1", "--port", Integer.toString(runningPort));
        assertThat(open.exit).as(open.err).isEqualTo(ErrorCode.AUTHENTICATION.exitCode());
        assertThat(open.err).contains("warning: password file " + file + " has group or world access");

        // libpq's escapes: \: and \\ ; a socket is matched by its directory (localhost only by a default one, which this
        // test's is not); the first matching line wins.
        Files.writeString(file, "# a comment\nelsewhere:*:*:postgres:nope\nlocalhost:" + runningPort + ":*:postgres:wrong\n" + socketDir + ":"
                + runningPort + ":*:postgres:" + escaped + "\n*:*:*:*:wrong\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Result r = run(Map.of("PGPASSFILE", file.toString()), "backup", "-q", "--repo", dir.resolve("repo-pass").toString(),
                "--pgdata", cluster.pgdata().toString());
        assertThat(r.exit).as(r.err).isZero();

        // ~/.pgpass when PGPASSFILE is not set
        Path pgpass = home.resolve(".pgpass");
        Files.copy(file, pgpass);
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-------"));
        Result viaHome = run(Map.of(), "backup", "-q", "--repo", dir.resolve("repo-home").toString(), "--pgdata", cluster.pgdata().toString());
        assertThat(viaHome.exit).as(viaHome.err).isZero();
        Files.delete(pgpass);
    }

    /**
     * With a list of hosts, libpq looks each host up in the password file as it tries it; pgstrata
     * looked the whole list up as one host name ("127.0.0.1,127.0.0.2"), found no line, sent no
     * password and failed to authenticate where psql connected.
     */
    @Test
    void passwordFile_withAHostList_isLookedUpPerHost() throws IOException {
        String escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:");
        Path file = dir.resolve("passfile-list");
        // 127.0.0.2 answers nothing here: the first host, 127.0.0.1, is the one reached
        Files.writeString(file, "127.0.0.2:" + runningPort + ":*:postgres:wrong\n127.0.0.1:" + runningPort + ":*:postgres:" + escaped + "\n",
                StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Result r = run(Map.of("PGPASSFILE", file.toString()), "backup", "-q", "--repo", dir.resolve("repo-pass-list").toString(),
                "--pgdata", cluster.pgdata().toString(), "--host", "127.0.0.1,127.0.0.2", "--port", Integer.toString(runningPort));
        assertThat(r.exit).as(r.err).isZero();
    }

    /**
     * PGSERVICE makes psql and pg_dump connect where the service file says; pgstrata, which does
     * not read service files, must say so rather than connect to localhost:5432 (another cluster,
     * on a packaged host) as if nothing were set.
     */
    @Test
    void pgservice_isRefused_notSilentlyIgnored() throws Exception {
        Path services = dir.resolve("pg_service.conf");
        Files.writeString(services, "[prod]\nhost=" + socketDir + "\nport=" + runningPort + "\nuser=postgres\ndbname=postgres\n");
        Result r = run(Map.of("PGSERVICE", "prod", "PGSERVICEFILE", services.toString(), "PGPASSWORD", PASSWORD), "backup", "-q", "--logical",
                "--repo", dir.resolve("repo-service").toString());
        assertThat(r.exit).as(r.err).isEqualTo(2);
        assertThat(r.err.strip()).startsWith("pgstrata: error: PGSERVICE is set").contains("hint: ").doesNotContain("\n");
        assertThat(dir.resolve("repo-service")).doesNotExist();
        // With every value given, the service decides nothing: it connects where it is told
        Result told = run(Map.of("PGSERVICE", "prod", "PGSERVICEFILE", services.toString(), "PGPASSWORD", PASSWORD, "PGHOST",
                socketDir.toString(), "PGPORT", Integer.toString(runningPort), "PGUSER", "postgres", "PGDATABASE", "postgres"), "check", "--repo",
                dir.resolve("repo-service").toString());
        assertThat(told.err).doesNotContain("PGSERVICE");
    }

    /**
     * PGHOSTADDR makes psql and pg_dump connect to that address whatever the host says; pgstrata,
     * which connects by host name alone, must say so rather than reach another server than they
     * would. The address given as the host itself is the same server: accepted.
     */
    @Test
    void pghostaddr_otherThanTheHost_isRefused_notSilentlyIgnored() throws Exception {
        Result r = run(Map.of("PGHOSTADDR", "127.0.0.2", "PGPASSWORD", PASSWORD), "backup", "-q", "--logical", "--host", "127.0.0.1",
                "--port", Integer.toString(runningPort), "--repo", dir.resolve("repo-hostaddr").toString());
        assertThat(r.exit).as(r.err).isEqualTo(2);
        assertThat(r.err.strip()).startsWith("pgstrata: error: PGHOSTADDR is set").contains("hint: ").doesNotContain("\n");
        assertThat(dir.resolve("repo-hostaddr")).doesNotExist();
        Result same = run(Map.of("PGHOSTADDR", "127.0.0.1", "PGPASSWORD", PASSWORD), "check", "--host", "127.0.0.1", "--port",
                Integer.toString(runningPort), "--repo", dir.resolve("repo-hostaddr").toString());
        assertThat(same.err).doesNotContain("PGHOSTADDR");
    }

    @Test
    void restoreStart_checksTheRestoredServerWithThePassword_andStopsItWhenRefused() throws Exception {
        Path repo = dir.resolve("repo-restore");
        Result b = run(Map.of("PGPASSWORD", PASSWORD), "backup", "-q", "--repo", repo.toString(), "--pgdata", cluster.pgdata().toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(runningPort));
        assertThat(b.exit).as(b.err).isZero();

        Path target = dir.resolve("restored");
        long t0 = System.nanoTime();
        Result r = run(Map.of("PGPASSWORD", PASSWORD), "restore", "-q", "--repo", repo.toString(), "--to", target.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(target, MAJOR);
        assertThat(r.exit).as(r.err).isZero();
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(120);
        assertThat(restored.isRunning()).isTrue();
        restored.stop();

        // Without the password the server is up but refuses the check: said at once, and not left running.
        Path target2 = dir.resolve("restored-nopass");
        Result refused = run(Map.of(), "restore", "-q", "--repo", repo.toString(), "--to", target2.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        LocalCluster restored2 = pg.trackRestored(target2, MAJOR);
        assertThat(refused.exit).as(refused.err).isEqualTo(ErrorCode.AUTHENTICATION.exitCode());
        assertThat(refused.err).contains("was stopped").contains("PGPASSWORD");
        assertThat(restored2.isRunning()).isFalse();
    }

    /** What the command printed and its exit code. */
    record Result(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    /** Runs pgstrata in its own JVM with no PG* variables but {@code env}, HOME a directory of its own. */
    private Result run(Map<String, String> env, String... args) {
        return start(env, args).finish();
    }

    /** A pgstrata process and where its output goes. */
    record Running(Process process, Path out, Path err, String command) {
        Result finish() {
            try {
                if (!process.waitFor(180, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new AssertionError(command + " did not end within 180 s; it said: " + Files.readString(err));
                }
                return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
            } catch (IOException e) {
                throw new AssertionError(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private Running start(Map<String, String> env, String... args) {
        List<String> cmd = org.pgstrata.ChildJava.command();
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        if (System.getProperty("pgstrata.pgbin.dir") != null) {
            cmd.add("-Dpgstrata.pgbin.dir=" + System.getProperty("pgstrata.pgbin.dir"));
        }
        cmd.add("org.pgstrata.cli.Main");
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile(dir, "out", ".txt");
            Path err = Files.createTempFile(dir, "err", ".txt");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            Map<String, String> e = new HashMap<>(PgSupport.env());
            e.put("HOME", home.toString());
            e.putAll(env);
            pb.environment().clear();
            pb.environment().putAll(e);
            return new Running(pb.start(), out, err, "pgstrata " + String.join(" ", args));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
