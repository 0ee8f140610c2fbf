package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * README's production quick start, run as a reader runs it, on a cluster made by Debian's
 * pg_createcluster with data checksums: the package this build made is installed with dpkg -i;
 * the blocks fenced {@code sh production} run in one bash (a stanza, a repository owned by
 * postgres, wal setup --apply, check, a full backup, pgstrata always as the postgres user and with
 * no connection options: the socket and port come from postmaster.pid); the lines of the
 * {@code cron production} block run as cron would run them (incremental, check, full and
 * expire). Then a point-in-time restore with --start into a new directory and a restore --delta
 * back into the cluster's own data directory, each proven by content against the source at that
 * point, and by amcheck. Package, cluster and files are removed afterwards.
 */
@Tag("packaged")
class ProductionQuickStartTest {
    private static final String NAME = "pgstrata_qs";
    private static final Path PGDATA = Path.of("/var/lib/postgresql/15", NAME);
    private static final Path ETC = Path.of("/etc/postgresql/15", NAME);
    private static final Path DEBIAN_BIN = Path.of("/usr/lib/postgresql/15/bin");

    @Test
    void readmeQuickStart_asPostgres_onAPackagedCluster_backsUpArchives_andRestoresProven() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String script = blocks(readme, "```sh production");
        List<String> cron = blocks(readme, "```cron production").lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertThat(script).contains("pgs repo init", "pgs wal setup --apply", "pgs check", "pgs backup --type full");
        assertThat(cron).as("README's cron lines: full and expire, incremental, check").hasSize(3);

        requireTools();
        String version = System.getProperty("pgstrata.version");
        assertThat(version).as("the pom passes pgstrata.version").isNotBlank();
        Path deb = Path.of("target", "pgstrata_" + version.replace("-SNAPSHOT", "~SNAPSHOT") + "_all.deb").toAbsolutePath();
        assertThat(deb).as("built by mvn package").isRegularFile();

        Path scratch = Files.createTempDirectory("pgstrata-quickstart");
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<Path> started = new ArrayList<>();
        root(List.of("pg_dropcluster", "--stop", "15", NAME), true); // a leftover of an interrupted run
        try {
            root(List.of("dpkg", "-i", deb.toString()), false);
            int port = LocalCluster.freePort();
            root(List.of("pg_createcluster", "15", NAME, "-p", Integer.toString(port), "--", "--data-checksums"), false);
            // The test reads content over TCP: trust on loopback for it, first so that it wins. pgstrata itself
            // connects as postgres over the Unix socket, by peer authentication, as Debian sets it up.
            Files.writeString(ETC.resolve("pg_hba.conf"), "host all all 127.0.0.1/32 trust\n" + Files.readString(ETC.resolve("pg_hba.conf")));
            root(List.of("pg_ctlcluster", "15", NAME, "start"), false);
            ConnectionSettings source = new ConnectionSettings("127.0.0.1", port, "postgres", "postgres", null);
            try (Connection c = Db.connect(source)) {
                Books.init(c);
                Books.populate(c, 20_000, 5_000, 1, Progress.NONE);
            }

            // The README's blocks: stanza, repository, archiving, check, the first full.
            Path config = scratch.resolve("pgstrata.conf");
            Path repos = scratch.resolve("repos");
            Path sh = scratch.resolve("quickstart.sh");
            Files.writeString(sh, "set -euo pipefail\nset -x\n" + script);
            OtherUser.Result run = runWith(List.of("bash", sh.toString()), Map.of("CLUSTER", NAME, "REPO", repos.toString(),
                    "PGSTRATA_CONFIG", config.toString()));
            assertThat(run.exit()).as("README's production blocks:\n%s", run.output()).isZero();
            assertThat(show(source, "archive_command")).as("names the installed command and the stanza, nothing of a JVM or a checkout")
                    .contains("/usr/bin/pgstrata wal push", "--stanza " + NAME).doesNotContain("java", ".jar", "/work", "/root");
            assertThat(show(source, "archive_mode")).isEqualTo("on");

            // Changes, a point in time between them, more changes; then cron's incremental, check, and full + expire.
            try (Connection c = Db.connect(source)) {
                Books.mutate(c, 500, 500, 100, 11);
            }
            Map<String, ContentChecksum.Result> atTarget = ClusterContent.of(source);
            String targetTime = query(source, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'");
            Thread.sleep(1100);
            try (Connection c = Db.connect(source)) {
                Books.mutate(c, 800, 800, 100, 12);
            }
            Map<String, ContentChecksum.Result> latest = ClusterContent.of(source);
            assertThat(latest).as("the proof changes when the data changes").isNotEqualTo(atTarget);
            for (String line : List.of(cron.get(1), cron.get(2), cron.get(0))) {
                OtherUser.Result r = cronRun(line, config);
                assertThat(r.exit()).as("cron line %s:\n%s", line, r.output()).isZero();
            }
            OtherUser.Result list = asPostgres(config, "list", "--json");
            assertThat(list.exit()).as(list.output()).isZero();
            assertThat(list.output()).contains("\"incr\"").contains("\"full\"");

            // Point in time, into a new directory, started on another port.
            Path look = scratch.resolve("look at it's time");
            Files.createDirectories(look);
            root(List.of("chown", "postgres:postgres", look.toString()), false);
            int lookPort = LocalCluster.freePort();
            started.add(look);
            OtherUser.Result pitr = asPostgres(config, "restore", "--target-time", targetTime, "--to", look.toString(), "--start", "--port",
                    Integer.toString(lookPort));
            assertThat(pitr.exit()).as(pitr.output()).isZero();
            ConnectionSettings restored = new ConnectionSettings("127.0.0.1", lookPort, "postgres", "postgres", null);
            assertThat(ClusterContent.amcheck(restored)).isEmpty();
            assertThat(ClusterContent.of(restored)).as("the restore at %s", targetTime).isEqualTo(atTarget);
            root(List.of("runuser", "-u", "postgres", "--", DEBIAN_BIN.resolve("pg_ctl").toString(), "stop", "-D", look.toString(), "-m", "fast"),
                    false);
            started.remove(look);

            // In place: the cluster stopped, brought back to the newest backup by a delta restore, started as usual.
            try (Connection c = Db.connect(source)) {
                Books.mutate(c, 300, 300, 100, 13); // after the newest backup: the delta must undo it
            }
            root(List.of("pg_ctlcluster", "15", NAME, "stop"), false);
            OtherUser.Result delta = asPostgres(config, "restore", "--delta", "--to", PGDATA.toString());
            assertThat(delta.exit()).as(delta.output()).isZero();
            assertThat(delta.output()).contains("wrote");
            root(List.of("pg_ctlcluster", "15", NAME, "start"), false);
            waitUntilReadWrite(source);
            assertThat(ClusterContent.amcheck(source)).isEmpty();
            assertThat(ClusterContent.of(source)).as("the cluster after restore --delta").isEqualTo(latest);
            assertThat(show(source, "config_file")).as("the cluster still reads its own configuration")
                    .isEqualTo(ETC.resolve("postgresql.conf").toString());
            OtherUser.Result check = cronRun(cron.get(2), config);
            assertThat(check.exit()).as("check after the delta restore: the cluster archives again\n%s", check.output()).isZero();
        } finally {
            for (Path p : started) {
                root(List.of("runuser", "-u", "postgres", "--", DEBIAN_BIN.resolve("pg_ctl").toString(), "stop", "-D", p.toString(), "-m",
                        "immediate"), true);
            }
            root(List.of("pg_dropcluster", "--stop", "15", NAME), true);
            root(List.of("dpkg", "--purge", "pgstrata"), true);
            PgSupport.deleteTree(scratch);
        }
    }

    /** The blocks that open with {@code fence}, in order, joined. */
    static String blocks(String readme, String fence) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        while ((at = readme.indexOf(fence + "\n", at)) >= 0) {
            int start = at + fence.length() + 1;
            int end = readme.indexOf("\n```", start);
            out.append(readme, start, end + 1);
            at = end;
        }
        return out.toString();
    }

    private static void requireTools() {
        if (!"root".equals(System.getProperty("user.name"))) {
            fail("this test runs as root (CI does): it installs the package and makes a cluster with pg_createcluster");
        }
        for (String tool : List.of("/usr/bin/dpkg", "/usr/bin/pg_createcluster", "/usr/sbin/runuser", DEBIAN_BIN.resolve("postgres").toString())) {
            if (!Files.isExecutable(Path.of(tool))) {
                fail(tool + " is missing: this test needs Debian's dpkg, postgresql-common and postgresql-15 (.ci/run installs them)");
            }
        }
        OtherUser.Result before = OtherUser.exec(List.of("dpkg-query", "-W", "-f", "${Status}", "pgstrata"));
        if (before.exit() == 0 && before.output().contains("installed") && !before.output().contains("not-installed")) {
            fail("a pgstrata package is installed on this machine already (" + before.output().strip() + "); this test installs its own "
                    + "build and removes it afterwards: remove that one first (dpkg -r pgstrata)");
        }
    }

    /** A line of the cron block, run as its user with cron's PATH, the stanza renamed to this test's cluster. */
    private static OtherUser.Result cronRun(String line, Path config) {
        String[] f = line.trim().split("\\s+", 7);
        assertThat(f).as("cron line: five time fields, a user, a command: %s", line).hasSize(7);
        String command = f[6].replace("--stanza main", "--stanza " + NAME);
        return OtherUser.exec(List.of("runuser", "-u", f[5], "--", "env", "PATH=/usr/bin:/bin", "PGSTRATA_CONFIG=" + config, "sh", "-c",
                command));
    }

    /** pgstrata as the postgres user, with the stanza and nothing else of a connection. */
    private static OtherUser.Result asPostgres(Path config, String... args) {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--", "env", "PGSTRATA_CONFIG=" + config, "pgstrata", "--stanza",
                NAME));
        cmd.addAll(List.of(args));
        return OtherUser.exec(cmd);
    }

    private static OtherUser.Result runWith(List<String> cmd, Map<String, String> env) {
        List<String> full = new ArrayList<>(List.of("env"));
        env.forEach((k, v) -> full.add(k + "=" + v));
        full.addAll(cmd);
        return OtherUser.exec(full);
    }

    private static void root(List<String> cmd, boolean mayFail) {
        OtherUser.Result r = OtherUser.exec(cmd);
        if (!mayFail) {
            assertThat(r.exit()).as("%s:\n%s", String.join(" ", cmd), r.output()).isZero();
        }
    }

    private static String show(ConnectionSettings s, String setting) throws Exception {
        return query(s, "SHOW " + setting);
    }

    private static String query(ConnectionSettings s, String sql) throws Exception {
        try (Connection c = Db.connect(s)) {
            return Db.queryString(c, sql);
        }
    }

    private static void waitUntilReadWrite(ConnectionSettings s) throws Exception {
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                if ("f".equals(query(s, "SELECT pg_is_in_recovery()"))) {
                    return;
                }
            } catch (org.pgstrata.api.PgstrataException e) {
                // still starting
            }
            Thread.sleep(200);
        }
        fail("the cluster did not leave recovery after restore --delta");
    }
}
