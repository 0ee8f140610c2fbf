package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.it.PgSupport;
import picocli.CommandLine;

/** The command line itself: help for every command, the cluster lifecycle, the demo, and compare. */
class CommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void everyCommand_hasHelpThatExplainsItsOptions() {
        List<List<String>> paths = new ArrayList<>();
        collect(Cli.commandLine(), new ArrayList<>(), paths);
        assertThat(paths).extracting(p -> String.join(" ", p)).contains("cluster init", "cluster start", "cluster stop", "cluster status",
                "demo init", "demo populate", "demo mutate", "demo checksum", "repo init", "backup", "list", "restore", "verify", "compare",
                "wal push", "wal get", "wal setup", "wal receive", "restore-point", "info");
        for (List<String> p : paths) {
            List<String> args = new ArrayList<>(p);
            args.add("--help");
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).contains("Usage: pgstrata " + String.join(" ", p));
        }
        CliRun root = CliRun.run("--help");
        assertThat(root.out()).contains("backup", "restore", "compare", "Exit codes");
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) {
                continue;
            }
            List<String> p = new ArrayList<>(prefix);
            p.add(e.getKey());
            out.add(p);
            collect(e.getValue(), p, out);
        }
    }

    @Test
    void unknownOption_isAUsageError_withAHint() {
        CliRun r = CliRun.run("backup", "--repo", "/tmp/x", "--pgdata", "/tmp/y", "--no-such-option");
        assertThat(r.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.err()).contains("--no-such-option").contains("hint: see 'pgstrata backup --help'");
    }

    @Test
    void clusterLifecycle_andTheBooksDemo_throughTheCommandLine() throws Exception {
        Path pgdata = dir.resolve("pg");
        String port = Integer.toString(org.pgstrata.db.LocalCluster.freePort());
        CliRun init = CliRun.run("cluster", "init", "-q", "--pgdata", pgdata.toString(), "--port", port, "--pg-version", "16", "--start");
        try {
            assertThat(init.exitCode()).as(init.err()).isZero();
            assertThat(init.out()).contains("PostgreSQL 16").contains("started on 127.0.0.1:" + port);

            JsonNode status = JSON.readTree(CliRun.run("cluster", "status", "--pgdata", pgdata.toString(), "--json").out());
            assertThat(status.get("running").asBoolean()).isTrue();
            assertThat(status.get("port").asInt()).isEqualTo(Integer.parseInt(port));
            assertThat(status.get("pgMajor").asInt()).isEqualTo(16);

            // The settings a new cluster promises.
            try (var c = org.pgstrata.db.Db.connect(new org.pgstrata.api.ConnectionSettings("127.0.0.1", Integer.parseInt(port), "postgres", "postgres", null))) {
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW data_checksums")).isEqualTo("on");
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW wal_level")).isEqualTo("replica");
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
                assertThat(org.pgstrata.db.Db.queryString(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).isEqualTo("t");
            }

            assertThat(CliRun.run("demo", "init", "-q", "-p", port).exitCode()).isZero();
            CliRun pop = CliRun.run("demo", "populate", "2500", "--batch-size", "1000", "-q", "-p", port);
            assertThat(pop.out()).contains("inserted 2500 rows");
            CliRun mut = CliRun.run("demo", "mutate", "--insert", "10", "--update", "20", "--delete", "30", "--seed", "5", "-q", "-p", port);
            assertThat(mut.out()).contains("inserted 10, updated 20, deleted 30 rows");
            JsonNode sum = JSON.readTree(CliRun.run("demo", "checksum", "--json", "-p", port).out());
            assertThat(sum.get("tables").get(0).get("table").asText()).isEqualTo("public.books");
            assertThat(sum.get("tables").get(0).get("rows").asLong()).isEqualTo(2500 + 10 - 30);
            assertThat(sum.get("tables").get(0).get("hash").asText()).hasSize(32);
            assertThat(sum.get("combined").asText()).hasSize(64);

            assertThat(CliRun.run("cluster", "stop", "--pgdata", pgdata.toString()).exitCode()).isZero();
            CliRun stopped = CliRun.run("cluster", "status", "--pgdata", pgdata.toString());
            assertThat(stopped.exitCode()).isEqualTo(3);
            assertThat(stopped.out()).startsWith("stopped");
        } finally {
            CliRun.run("cluster", "stop", "--pgdata", pgdata.toString());
        }
    }

    @Test
    void mutate_withTheSameSeed_onTheSameContent_changesTheSameRows() throws Exception {
        try (PgSupport pg = new PgSupport(dir)) {
            var a = pg.start("a", 17);
            var b = pg.start("b", 17);
            String hashA = null;
            for (var c : List.of(a, b)) {
                String port = Integer.toString(PgSupport.conn(c).port());
                CliRun.run("demo", "init", "-q", "-p", port);
                CliRun.run("demo", "populate", "3000", "-q", "-p", port);
                CliRun.run("demo", "mutate", "--update", "100", "--delete", "50", "--seed", "7", "-q", "-p", port);
                // created_at/updated_at differ between runs; compare the rows without them
                try (var conn = PgSupport.connect(c)) {
                    String h = org.pgstrata.db.Db.queryString(conn,
                            "SELECT md5(string_agg(concat_ws('|', id, title, author, isbn, published_year, price), ',' ORDER BY id)) FROM books");
                    if (hashA == null) {
                        hashA = h;
                    } else {
                        assertThat(h).isEqualTo(hashA);
                    }
                }
            }
        }
    }

    @Test
    void compare_printsEveryRow_verified() throws Exception {
        CliRun r = CliRun.run("compare", "-q", "--rows", "5000", "--batch-size", "1000", "--json", "--work-dir", dir.resolve("work").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        JsonNode full = json.get("strategies").get(0);
        assertThat(full.get("strategy").asText()).isEqualTo("full (physical)");
        assertThat(full.get("verified").asBoolean()).isTrue();
        assertThat(full.get("repositoryBytes").asLong()).isPositive();
        assertThat(full.get("backupSeconds").asDouble()).isPositive();
        assertThat(full.get("restoreSeconds").asDouble()).isPositive();
        assertThat(full.get("restorePoints").asInt()).isEqualTo(1);
        assertThat(full.has("reason")).isFalse();
        JsonNode incr = json.get("strategies").get(1);
        assertThat(incr.get("strategy").asText()).isEqualTo("incremental chain");
        assertThat(incr.get("verified").asBoolean()).as(incr.toString()).isTrue();
        assertThat(incr.get("restorePoints").asInt()).isEqualTo(4);
        JsonNode diff = json.get("strategies").get(2);
        assertThat(diff.get("strategy").asText()).isEqualTo("differential");
        assertThat(diff.get("verified").asBoolean()).as(diff.toString()).isTrue();
        assertThat(diff.get("restorePoints").asInt()).isEqualTo(4);
        JsonNode reverse = json.get("strategies").get(3);
        assertThat(reverse.get("strategy").asText()).isEqualTo("reverse delta");
        assertThat(reverse.get("verified").asBoolean()).as(reverse.toString()).isTrue();
        assertThat(reverse.get("restorePoints").asInt()).isEqualTo(4);
        JsonNode pitr = json.get("strategies").get(4);
        assertThat(pitr.get("strategy").asText()).isEqualTo("base backup + WAL (point in time)");
        assertThat(pitr.get("verified").asBoolean()).as(pitr.toString()).isTrue();
        assertThat(pitr.get("restorePoints").asInt()).isGreaterThanOrEqualTo(3);
        // CI installs Debian's pg_dump, and compare picks the bundled server it can dump: the logical rows run
        JsonNode logical = json.get("strategies").get(5);
        assertThat(logical.get("strategy").asText()).isEqualTo("logical full (pg_dump)");
        assertThat(logical.get("verified").asBoolean()).as(logical.toString()).isTrue();
        assertThat(logical.get("restorePoints").asInt()).isEqualTo(1);
        JsonNode logicalDiff = json.get("strategies").get(6);
        assertThat(logicalDiff.get("strategy").asText()).isEqualTo("logical differential");
        assertThat(logicalDiff.get("verified").asBoolean()).as(logicalDiff.toString()).isTrue();
        assertThat(logicalDiff.get("restorePoints").asInt()).isEqualTo(4);
        assertThat(logicalDiff.get("repositoryBytes").asLong()).isLessThan(2 * logical.get("repositoryBytes").asLong());
        assertThat(json.get("pgMajor").asInt()).isEqualTo(org.pgstrata.it.LogicalSupport.serverMajor());
        assertThat(dir.resolve("work")).doesNotExist();
    }
}
