package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.LocalCluster.ProcessResult;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster made by Debian's pg_createcluster keeps postgresql.conf, pg_hba.conf, pg_ident.conf
 * and conf.d/ in /etc/postgresql/15/NAME. pgstrata runs as the postgres OS user, as in
 * production: the backup stores those files, the restore puts them beside the data and --start
 * works, or puts them into --config-dir with data_directory naming the restored data.
 */
class PackagedClusterTest {
    private static final Path DEBIAN_BIN = Path.of("/usr/lib/postgresql/15/bin");
    private static final String NAME = "pgstrata_packaged";
    private static Path scratch;
    private static Path classpath;
    private static int port;
    private static final Path PGDATA = Path.of("/var/lib/postgresql/15", NAME);
    private static final Path ETC = Path.of("/etc/postgresql/15", NAME);
    private static org.pgstrata.api.ConnectionSettings source;
    private static final List<Path> started = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        // Never skipped: CI runs as root with Debian's postgresql-15 and postgresql-common (.ci/run installs them).
        if (!(PgBinaries.isRoot() && Files.isExecutable(Path.of("/usr/bin/pg_createcluster")) && Files.isDirectory(DEBIAN_BIN))) {
            fail("this test runs as root with Debian's postgresql-15 and postgresql-common (pg_createcluster, " + DEBIAN_BIN
                    + "), as CI does: .ci/run installs them");
        }
        sh(List.of("pg_dropcluster", "--stop", "15", NAME), true); // a leftover of an interrupted run
        scratch = Files.createTempDirectory("pgstrata-packaged");
        Files.setPosixFilePermissions(scratch, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        classpath = copyClasspath(scratch.resolve("cp"));
        sh(List.of("chown", "postgres:postgres", scratch.toString()), false); // the restores, as postgres, create their directories here
        port = LocalCluster.freePort();
        sh(List.of("pg_createcluster", "15", NAME, "-p", Integer.toString(port), "--", "--data-checksums"), false);
        // The test connects over TCP without a password: trust on loopback, first so that it wins (the restored copy keeps it).
        String hba = Files.readString(ETC.resolve("pg_hba.conf"));
        Files.writeString(ETC.resolve("pg_hba.conf"), "host all all 127.0.0.1/32 trust\n" + hba);
        Files.writeString(ETC.resolve("conf.d/pgstrata-test.conf"), "work_mem = '5MB'\n");
        sh(List.of("chown", "postgres:postgres", ETC.resolve("conf.d/pgstrata-test.conf").toString()), false);
        sh(List.of("pg_ctlcluster", "15", NAME, "start"), false);
        // The server runs as postgres: pg_ctl status from root's user namespace cannot see it, so it is named by its port.
        source = server(port);
        try (Connection c = org.pgstrata.db.Db.connect(source)) {
            Books.init(c);
            Books.populate(c, 5_000, 2_000, 1, Progress.NONE);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (scratch == null) {
            return;
        }
        for (Path p : started) {
            sh(List.of("runuser", "-u", "postgres", "--", DEBIAN_BIN.resolve("pg_ctl").toString(), "stop", "-D", p.toString(), "-m",
                    "immediate"), true);
        }
        sh(List.of("pg_dropcluster", "--stop", "15", NAME), true);
        PgSupport.deleteTree(scratch);
    }

    private static org.pgstrata.api.ConnectionSettings server(int p) {
        return new org.pgstrata.api.ConnectionSettings("127.0.0.1", p, "postgres", "postgres", null);
    }

    private static String show(int p, String setting) throws Exception {
        try (Connection c = org.pgstrata.db.Db.connect(server(p))) {
            return org.pgstrata.db.Db.queryString(c, "SHOW " + setting);
        }
    }

    /** Runs {@code cmd} as root; fails unless it exits 0 (or {@code mayFail}). */
    private static String sh(List<String> cmd, boolean mayFail) {
        ProcessResult r = ProcessResult.run(cmd, 300);
        if (!mayFail) {
            assertThat(r.exitCode()).as(String.join(" ", cmd) + ": " + r.output()).isZero();
        }
        return r.output();
    }

    /** The test's class path, copied where the postgres user can read it. */
    private static Path copyClasspath(Path to) throws Exception {
        Files.createDirectories(to);
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isDirectory(p)) {
                Path d = to.resolve("dir" + i++);
                PgSupport.copyTree(p, d);
                entries.add(d.toString());
            } else if (Files.isRegularFile(p)) {
                Path j = to.resolve(i++ + "-" + p.getFileName());
                Files.copy(p, j);
                entries.add(j.toString());
            }
        }
        sh(List.of("chmod", "-R", "a+rX", to.toString()), false);
        Path list = to.resolve("classpath.txt");
        Files.writeString(list, String.join(File.pathSeparator, entries));
        return list;
    }

    /** pgstrata ARGS as the postgres OS user, in a JVM of its own. */
    private static ProcessResult pgstrata(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--", "env", "HOME=/var/lib/postgresql",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", Files.readString(classpath),
                "org.pgstrata.cli.Main"));
        cmd.addAll(List.of(args));
        return ProcessResult.run(cmd, 600);
    }

    private static JsonNode ok(String... args) throws Exception {
        ProcessResult r = pgstrata(args);
        assertThat(r.exitCode()).as("pgstrata " + String.join(" ", args) + ": " + r.output()).isZero();
        String out = r.output();
        return new ObjectMapper().readTree(out.substring(out.indexOf('{')));
    }

    private static Path postgresDir(String name) throws Exception {
        Path d = scratch.resolve(name);
        Files.createDirectories(d);
        sh(List.of("chown", "postgres:postgres", d.toString()), false);
        return d;
    }

    @Test
    void backupStoresEtcFiles_restoreStartsBesideTheData_orIntoConfigDir() throws Exception {
        Map<String, ContentChecksum.Result> before = ClusterContent.of(source);
        Path repo = postgresDir("repo");
        JsonNode b = ok("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata", PGDATA.toString(), "--port", Integer.toString(port),
                "--host", "127.0.0.1");
        assertThat(b.get("configFiles")).extracting(JsonNode::asText).containsExactlyInAnyOrder(ETC + "/postgresql.conf",
                ETC + "/conf.d/pgstrata-test.conf", ETC + "/pg_hba.conf", ETC + "/pg_ident.conf");

        // An incremental: conf.d changed, pg_hba.conf did not (stored as unchanged, on the full).
        Files.writeString(ETC.resolve("conf.d/pgstrata-test.conf"), "work_mem = '6MB'\n");
        try (Connection c = org.pgstrata.db.Db.connect(source)) {
            Books.mutate(c, 100, 100, 100, 7);
        }
        before = ClusterContent.of(source);
        JsonNode incr = ok("backup", "-q", "--json", "--type", "incr", "--repo", repo.toString(), "--pgdata", PGDATA.toString(), "--port",
                Integer.toString(port), "--host", "127.0.0.1");
        assertThat(incr.get("type").asText()).isEqualTo("incr");
        assertThat(incr.get("configFiles")).hasSize(4);
        ok("verify", "--json", "--repo", repo.toString());

        // Beside the data: postgres -D TARGET finds its configuration, and uses the restored copies.
        Path target = scratch.resolve("restored");
        int restoredPort = LocalCluster.freePort();
        started.add(target);
        ok("restore", "-q", "--json", "--repo", repo.toString(), "--to", target.toString(), "--start", "--port",
                Integer.toString(restoredPort), "--pg-bin", DEBIAN_BIN.toString());
        var restored = server(restoredPort);
        assertThat(ClusterContent.of(restored)).isEqualTo(before);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
        assertThat(show(restoredPort, "config_file")).isEqualTo(target + "/postgresql.conf");
        assertThat(show(restoredPort, "hba_file")).isEqualTo(target + "/pg_hba.conf");
        assertThat(show(restoredPort, "ident_file")).isEqualTo(target + "/pg_ident.conf");
        assertThat(show(restoredPort, "data_directory")).isEqualTo(target.toString());
        assertThat(show(restoredPort, "work_mem")).as("conf.d, included relative to postgresql.conf, as of the incr").isEqualTo("6MB");
        assertThat(show(restoredPort, "external_pid_file")).isEmpty();
        assertThat(Files.readString(target.resolve("postgresql.conf"))).contains("#data_directory = '" + PGDATA + "'");
        assertThat(Files.exists(target.resolve("pgstrata_external_config"))).isFalse();
        // the source's own files are untouched
        assertThat(Files.readString(ETC.resolve("postgresql.conf"))).contains("\ndata_directory = '" + PGDATA + "'");

        // Into --config-dir, laid out as in /etc: data_directory names the restored data.
        Path target2 = scratch.resolve("restored2");
        Path etc2 = scratch.resolve("etc2");
        ok("restore", "-q", "--json", "--repo", repo.toString(), "--to", target2.toString(), "--config-dir", etc2.toString(), "--backup",
                b.get("id").asText());
        assertThat(Files.readString(etc2.resolve("conf.d/pgstrata-test.conf"))).isEqualTo("work_mem = '5MB'\n");
        assertThat(etc2.resolve("conf.d/pgstrata-test.conf")).exists();
        assertThat(target2.resolve("postgresql.conf")).doesNotExist();
        String dataDir = sh(List.of("runuser", "-u", "postgres", "--", DEBIAN_BIN.resolve("postgres").toString(), "-D", etc2.toString(), "-C",
                "data_directory"), false).strip();
        assertThat(dataDir).isEqualTo(target2.toString());
        String hba = sh(List.of("runuser", "-u", "postgres", "--", DEBIAN_BIN.resolve("postgres").toString(), "-D", etc2.toString(), "-C",
                "hba_file"), false).strip();
        assertThat(hba).isEqualTo(etc2 + "/pg_hba.conf");
    }
}
